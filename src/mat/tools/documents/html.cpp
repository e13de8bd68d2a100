// HTML -> readable text. Real-world HTML is rarely well-formed XML, so this is a tolerant scanner,
// not a parser: tags are dropped, script and style are dropped with their contents, block elements
// become line breaks, headings and list items keep their markdown marks, entities are decoded.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <utility>

#include "mat/tools/documents/converters.h"

namespace mat::tools::documents {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void append_utf8(std::string& out, uint32_t code) {
  if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// Decodes the entity at `html[i]` ('&') into `out`; returns the index after it. An unknown or
// malformed entity is kept as written.
size_t decode_entity(std::string_view html, size_t i, std::string& out) {
  static constexpr std::array<std::pair<std::string_view, uint32_t>, 16> kNamed = {{
      {"amp", '&'},
      {"lt", '<'},
      {"gt", '>'},
      {"quot", '"'},
      {"apos", '\''},
      {"nbsp", 0xA0},
      {"copy", 0xA9},
      {"reg", 0xAE},
      {"mdash", 0x2014},
      {"ndash", 0x2013},
      {"hellip", 0x2026},
      {"lsquo", 0x2018},
      {"rsquo", 0x2019},
      {"ldquo", 0x201C},
      {"rdquo", 0x201D},
      {"euro", 0x20AC},
  }};
  const size_t semicolon = html.find(';', i);
  if (semicolon == std::string_view::npos || semicolon - i > 12) {
    out += '&';
    return i + 1;
  }
  const std::string_view name = html.substr(i + 1, semicolon - i - 1);
  if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    uint32_t code = 0;
    const auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
    if (error == std::errc() && end == digits.data() + digits.size()) {
      append_utf8(out, code);
      return semicolon + 1;
    }
  }
  for (const auto& [entity, code] : kNamed) {
    if (entity == name) {
      append_utf8(out, code);
      return semicolon + 1;
    }
  }
  out += '&';
  return i + 1;
}

bool is_block(std::string_view tag) {
  static constexpr std::array<std::string_view, 26> kBlocks = {
      "p",       "div",        "br",      "tr",     "table", "ul",    "ol",
      "section", "article",    "header",  "footer", "nav",   "aside", "main",
      "pre",     "blockquote", "hr",      "title",  "dt",    "dd",    "form",
      "figure",  "caption",    "address", "dl",     "body"};
  return std::find(kBlocks.begin(), kBlocks.end(), tag) != kBlocks.end();
}

// Collapses runs of spaces to one and of blank lines to one, and trims each line.
std::string tidy(std::string_view text) {
  std::string out;
  int newlines = 2;  // no blank lines at the start
  bool space = false;
  for (const char c : text) {
    if (c == '\n') {
      if (newlines < 2) out += '\n';
      ++newlines;
      space = false;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      space = newlines == 0;
    } else {
      if (space) out += ' ';
      out += c;
      space = false;
      newlines = 0;
    }
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  std::string text;
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '&') {
      i = decode_entity(html, i, text);
      continue;
    }
    if (c != '<') {
      text += c;
      ++i;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      const size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    // A tag runs to the first '>' outside a quoted attribute value.
    size_t end = i + 1;
    char quote = 0;
    for (; end < html.size() && (quote != 0 || html[end] != '>'); ++end) {
      if (quote != 0 && html[end] == quote) {
        quote = 0;
      } else if (quote == 0 && (html[end] == '"' || html[end] == '\'')) {
        quote = html[end];
      }
    }
    const std::string_view tag = html.substr(i + 1, end - i - 1);
    i = std::min(end + 1, html.size());
    const bool closing = tag.starts_with('/');
    const std::string_view rest = tag.substr(closing ? 1 : 0);
    const size_t name_end = std::min(rest.find_first_of(" \t\r\n/"), rest.size());
    const std::string name = lower(rest.substr(0, name_end));
    if (!closing && (name == "script" || name == "style")) {
      // Their contents are code, not text: skip to the closing tag.
      const std::string close = "</" + name;
      i = static_cast<size_t>(
          std::search(
              html.begin() + static_cast<ptrdiff_t>(i), html.end(), close.begin(), close.end(),
              [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }) -
          html.begin());
    } else if (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6') {
      text +=
          closing ? "\n\n" : "\n\n" + std::string(static_cast<size_t>(name[1] - '0'), '#') + " ";
    } else if (name == "li" && !closing) {
      text += "\n- ";
    } else if ((name == "td" || name == "th") && !closing) {
      text += " | ";
    } else if (is_block(name)) {
      text += '\n';
    }
  }
  return tidy(text);
}

}  // namespace mat::tools::documents
