#include "mat/eval/gaia_scorer.h"

#include <cstdlib>
#include <limits>
#include <vector>

#include "mat/eval/text.h"

namespace mat::eval {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Python's string.punctuation: ASCII only, so "’" and "—" stay.
bool is_ascii_punctuation(char32_t c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

// Reads digits with single underscores between them (Python's digitpart) from text[pos], appending
// the digits to `out`; false when there is none or an underscore is misplaced.
bool read_digits(std::string_view text, size_t& pos, std::string& out) {
  if (pos >= text.size() || !is_digit(text[pos])) return false;
  while (pos < text.size()) {
    if (is_digit(text[pos])) {
      out.push_back(text[pos++]);
    } else if (text[pos] == '_' && pos + 1 < text.size() && is_digit(text[pos + 1])) {
      ++pos;
    } else {
      break;
    }
  }
  return true;
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (static_cast<char>(to_lower(static_cast<unsigned char>(text[i]))) != lower[i]) return false;
  }
  return true;
}

// The GAIA scorer's normalize_number_str: '$', '%' and ',' removed; infinity when the rest is not
// a number (so that it equals no finite ground truth).
double normalized_number(std::string_view answer) {
  std::string kept;
  for (const char c : answer) {
    if (c != '$' && c != '%' && c != ',') kept.push_back(c);
  }
  return parse_python_float(kept).value_or(std::numeric_limits<double>::infinity());
}

// The GAIA scorer's normalize_str: all whitespace removed, lower-cased, and ASCII punctuation
// removed when asked.
std::u32string normalized_string(std::string_view text, bool remove_punctuation) {
  std::u32string out;
  for (const char32_t c : decode_utf8(text)) {
    if (is_space(c) || (remove_punctuation && is_ascii_punctuation(c))) continue;
    out.push_back(to_lower(c));
  }
  return out;
}

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find_first_of(",;", start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool number_matches(std::string_view answer, double truth) {
  return normalized_number(answer) == truth;
}

}  // namespace

std::optional<double> parse_python_float(std::string_view text) {
  std::u32string code_points = decode_utf8(text);
  size_t first = 0, last = code_points.size();
  while (first < last && is_space(code_points[first])) ++first;
  while (last > first && is_space(code_points[last - 1])) --last;
  const std::string trimmed = encode_utf8(code_points.substr(first, last - first));
  if (trimmed.empty()) return std::nullopt;
  size_t pos = 0;
  std::string number;  // what strtod reads: the sign, digits, '.', exponent; no underscores
  if (trimmed[pos] == '+' || trimmed[pos] == '-') number.push_back(trimmed[pos++]);
  const std::string_view rest = std::string_view(trimmed).substr(pos);
  const double sign = number == "-" ? -1.0 : 1.0;
  if (equals_ignoring_case(rest, "inf") || equals_ignoring_case(rest, "infinity")) {
    return sign * std::numeric_limits<double>::infinity();
  }
  if (equals_ignoring_case(rest, "nan")) return std::numeric_limits<double>::quiet_NaN();
  const bool integer_part = read_digits(trimmed, pos, number);
  if (pos < trimmed.size() && trimmed[pos] == '.') {
    number.push_back(trimmed[pos++]);
    if (!read_digits(trimmed, pos, number) && !integer_part) return std::nullopt;
  } else if (!integer_part) {
    return std::nullopt;
  }
  if (pos < trimmed.size() && (trimmed[pos] == 'e' || trimmed[pos] == 'E')) {
    number.push_back(trimmed[pos++]);
    if (pos < trimmed.size() && (trimmed[pos] == '+' || trimmed[pos] == '-')) {
      number.push_back(trimmed[pos++]);
    }
    if (!read_digits(trimmed, pos, number)) return std::nullopt;
  }
  if (pos != trimmed.size()) return std::nullopt;
  // The text is validated above, so strtod reads all of it; it gives ±HUGE_VAL (infinity) on
  // overflow and 0 on underflow, as Python does. mat never changes LC_NUMERIC, so '.' is the point.
  return std::strtod(number.c_str(), nullptr);
}

bool gaia_correct(const std::optional<std::string>& answer, std::string_view ground_truth) {
  const std::string model_answer = answer.value_or("None");
  if (const std::optional<double> truth = parse_python_float(ground_truth)) {
    return number_matches(model_answer, *truth);
  }
  if (ground_truth.find_first_of(",;") != std::string_view::npos) {
    const std::vector<std::string_view> truths = split_list(ground_truth);
    const std::vector<std::string_view> answers = split_list(model_answer);
    if (truths.size() != answers.size()) return false;
    for (size_t i = 0; i < truths.size(); ++i) {
      const std::optional<double> number = parse_python_float(truths[i]);
      const bool same =
          number ? number_matches(answers[i], *number)
                 : normalized_string(answers[i], false) == normalized_string(truths[i], false);
      if (!same) return false;
    }
    return true;
  }
  return normalized_string(model_answer, true) == normalized_string(ground_truth, true);
}

}  // namespace mat::eval
