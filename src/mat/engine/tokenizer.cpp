#include "mat/engine/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "mat/core/error.h"
#include "mat/engine/utf8.h"

namespace mat::engine {
namespace {

using core::Json;

// GPT-2's pattern, used when the pre-tokenizer is a ByteLevel with use_regex = true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Words longer than this are not cached (they are rare and would crowd out the common ones).
constexpr std::size_t kMaxCachedWord = 64;
constexpr std::size_t kMaxCacheEntries = 1 << 16;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw core::Error("tokenizer '" + name + "': " + what);
}

// The byte-level alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes are
// shifted to U+0100 and up, in byte order.
struct ByteAlphabet {
  std::array<std::string, 256> symbol;               // byte -> its symbol, UTF-8
  std::unordered_map<char32_t, unsigned char> byte;  // symbol code point -> byte

  ByteAlphabet() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      append_utf8(symbol[static_cast<std::size_t>(b)], cp);
      byte.emplace(cp, static_cast<unsigned char>(b));
    }
  }
};

const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

// Oniguruma (which `tokenizers` uses) counts U+0085 as \s; PCRE2 10.42 does not. Rewrites \s and
// \S so that both engines agree.
std::string onig_compatible(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char d = p[++i];
      if (d == 's') {
        out += in_class ? R"(\s\x{85})" : R"([\s\x{85}])";
      } else if (d == 'S' && !in_class) {
        out += R"([^\s\x{85}])";
      } else {
        out += c;
        out += d;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];  // a literal ']' first
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      const std::size_t close = p.find(":]", i + 2);
      if (close != std::string_view::npos) {
        out.append(p.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

std::string quote_literal(std::string_view s) {
  std::string out = "\\Q";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s.substr(i, 2) == "\\E") {
      out += "\\E\\\\E\\Q";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out + "\\E";
}

struct Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  Regex() = default;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '_';
}

struct Piece {
  std::string_view text;
  std::int32_t added_id = -1;  // >= 0 for an added token
};

}  // namespace

struct Tokenizer::Impl {
  std::string name;
  std::unordered_map<std::string, std::int32_t> vocab;
  std::vector<std::string> tokens;  // id -> token string (model vocabulary and added tokens)
  std::vector<bool> special;
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>>
      merges;  // pair -> rank, id
  std::array<std::int32_t, 256> byte_ids{};
  bool ignore_merges = false;
  bool nfc = false;
  Regex split;
  std::vector<AddedToken> raw_added;         // matched before normalisation
  std::vector<AddedToken> normalized_added;  // matched after

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }

  void load_added(const Json& json);
  void load_normalizer(const Json& json);
  void load_pre_tokenizer(const Json& json);
  void load_model(const Json& json);
  void compile(std::string_view pattern);

  std::vector<Piece> split_added(std::string_view text, const std::vector<AddedToken>& added) const;
  void split_words(std::string_view text, std::vector<std::string_view>& out) const;
  void bpe(std::string_view word, std::vector<std::int32_t>& out) const;
  void bpe_uncached(std::string_view word, std::vector<std::int32_t>& out) const;
  std::string normalize(std::string_view text) const;
};

void Tokenizer::Impl::load_added(const Json& json) {
  const auto it = json.find("added_tokens");
  if (it == json.end() || it->is_null()) return;
  if (!it->is_array()) fail(name, "\"added_tokens\" is not an array");
  for (const Json& t : *it) {
    if (!t.is_object() || !t.contains("id") || !t.contains("content") ||
        !t["id"].is_number_integer() || !t["content"].is_string()) {
      fail(name, "an entry of \"added_tokens\" lacks an integer id or a string content");
    }
    AddedToken a;
    a.id = t["id"].get<std::int32_t>();
    a.content = t["content"].get<std::string>();
    a.special = t.value("special", false);
    a.lstrip = t.value("lstrip", false);
    a.rstrip = t.value("rstrip", false);
    a.single_word = t.value("single_word", false);
    a.normalized = t.value("normalized", !a.special);
    if (a.id < 0 || a.content.empty())
      fail(name, "added token '" + a.content + "' has a negative id or no text");
    if (static_cast<std::size_t>(a.id) >= tokens.size()) {
      tokens.resize(static_cast<std::size_t>(a.id) + 1);
      special.resize(tokens.size(), false);
    }
    tokens[static_cast<std::size_t>(a.id)] = a.content;
    special[static_cast<std::size_t>(a.id)] = a.special;
    vocab[a.content] = a.id;
    (a.normalized ? normalized_added : raw_added).push_back(std::move(a));
  }
  // Longest first, so that the scan below finds the leftmost-longest match.
  auto by_length = [](const AddedToken& x, const AddedToken& y) {
    return x.content.size() > y.content.size();
  };
  std::stable_sort(raw_added.begin(), raw_added.end(), by_length);
  std::stable_sort(normalized_added.begin(), normalized_added.end(), by_length);
}

void Tokenizer::Impl::load_normalizer(const Json& json) {
  const auto it = json.find("normalizer");
  if (it == json.end() || it->is_null()) return;
  auto one = [&](const Json& n) {
    const std::string type = n.value("type", std::string());
    if (type == "NFC") {
      nfc = true;
    } else {
      fail(name, "uses the normalizer \"" + type + "\"; mat implements NFC only");
    }
  };
  if (it->value("type", std::string()) == "Sequence") {
    for (const Json& n : it->value("normalizers", Json::array())) one(n);
  } else {
    one(*it);
  }
}

void Tokenizer::Impl::compile(std::string_view pattern) {
  const std::string rewritten = onig_compatible(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  split.code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (split.code == nullptr) {
    std::array<PCRE2_UCHAR, 256> message{};
    pcre2_get_error_message(error, message.data(), message.size());
    fail(name, "its pre-tokenizer pattern does not compile at offset " + std::to_string(offset) +
                   ": " + reinterpret_cast<const char*>(message.data()));
  }
  split.jit = pcre2_jit_compile(split.code, PCRE2_JIT_COMPLETE) == 0;
}

void Tokenizer::Impl::load_pre_tokenizer(const Json& json) {
  const auto it = json.find("pre_tokenizer");
  if (it == json.end() || it->is_null())
    fail(name, "has no pre_tokenizer; mat needs a byte-level one");
  std::vector<const Json*> parts;
  if (it->value("type", std::string()) == "Sequence") {
    for (const Json& p : (*it)["pretokenizers"]) parts.push_back(&p);
  } else {
    parts.push_back(&*it);
  }
  bool byte_level = false;
  for (const Json* p : parts) {
    const std::string type = p->value("type", std::string());
    if (type == "Split") {
      if (split.code != nullptr) fail(name, "has two Split pre-tokenizers; mat supports one");
      if (p->value("behavior", std::string()) != "Isolated" || p->value("invert", false)) {
        fail(name, "its Split pre-tokenizer is not {behavior: Isolated, invert: false}");
      }
      const Json& pattern = (*p)["pattern"];
      if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
        compile(pattern["Regex"].get<std::string>());
      } else if (pattern.contains("String") && pattern["String"].is_string()) {
        compile(quote_literal(pattern["String"].get<std::string>()));
      } else {
        fail(name, "its Split pre-tokenizer has no Regex or String pattern");
      }
    } else if (type == "ByteLevel") {
      if (p->value("add_prefix_space", false))
        fail(name, "uses ByteLevel add_prefix_space, which mat does not");
      if (p->value("use_regex", true)) {
        if (split.code != nullptr) fail(name, "splits twice (Split and ByteLevel use_regex)");
        compile(kGpt2Pattern);
      }
      byte_level = true;
    } else {
      fail(name, "uses the pre-tokenizer \"" + type + "\"; mat implements Split and ByteLevel");
    }
  }
  if (!byte_level) fail(name, "is not byte-level; mat implements byte-level BPE only");
}

void Tokenizer::Impl::load_model(const Json& json) {
  const auto it = json.find("model");
  if (it == json.end() || !it->is_object()) fail(name, "has no \"model\" object");
  const Json& m = *it;
  if (m.value("type", std::string("BPE")) != "BPE") {
    fail(name, "has a \"" + m.value("type", std::string()) + "\" model; mat implements BPE only");
  }
  if (!m.value("continuing_subword_prefix", Json()).is_null() &&
      !m["continuing_subword_prefix"].get<std::string>().empty()) {
    fail(name, "uses continuing_subword_prefix, which byte-level BPE does not");
  }
  if (!m.value("end_of_word_suffix", Json()).is_null() &&
      !m["end_of_word_suffix"].get<std::string>().empty()) {
    fail(name, "uses end_of_word_suffix, which byte-level BPE does not");
  }
  if (!m.value("dropout", Json()).is_null())
    fail(name, "uses BPE dropout; mat tokenizes deterministically");
  ignore_merges = m.value("ignore_merges", false);

  const auto v = m.find("vocab");
  if (v == m.end() || !v->is_object()) fail(name, "has no model vocab");
  for (auto e = v->begin(); e != v->end(); ++e) {
    if (!e.value().is_number_integer() || e.value().get<std::int64_t>() < 0) {
      fail(name, "vocab entry '" + e.key() + "' has no non-negative id");
    }
    const auto id = e.value().get<std::int32_t>();
    vocab.emplace(e.key(), id);
    if (static_cast<std::size_t>(id) >= tokens.size()) {
      tokens.resize(static_cast<std::size_t>(id) + 1);
      special.resize(tokens.size(), false);
    }
    tokens[static_cast<std::size_t>(id)] = e.key();
  }
  for (int b = 0; b < 256; ++b) {
    const auto f = vocab.find(alphabet().symbol[static_cast<std::size_t>(b)]);
    if (f == vocab.end())
      fail(name, "its vocab lacks the byte symbol of byte " + std::to_string(b));
    byte_ids[static_cast<std::size_t>(b)] = f->second;
  }

  const auto mg = m.find("merges");
  if (mg == m.end() || !mg->is_array()) fail(name, "has no model merges");
  std::int32_t rank = 0;
  for (const Json& e : *mg) {
    std::string a;
    std::string b;
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const std::size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) fail(name, "merge \"" + s + "\" is not two tokens");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      fail(name, "a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const auto ia = vocab.find(a);
    const auto ib = vocab.find(b);
    const auto iab = vocab.find(a + b);
    if (ia == vocab.end() || ib == vocab.end() || iab == vocab.end()) {
      fail(name, "merge \"" + a + " " + b + "\" uses or makes a token missing from the vocab");
    }
    merges.emplace(pair_key(ia->second, ib->second), std::make_pair(rank++, iab->second));
  }
}

std::string Tokenizer::Impl::normalize(std::string_view text) const {
  if (!nfc || std::all_of(text.begin(), text.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(text);
  }
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &result,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {
    throw core::Error("tokenizer '" + name + "': NFC normalisation failed: " + utf8proc_errmsg(n));
  }
  std::string out(reinterpret_cast<const char*>(result), static_cast<std::size_t>(n));
  std::free(result);
  return out;
}

std::vector<Piece> Tokenizer::Impl::split_added(std::string_view text,
                                                const std::vector<AddedToken>& added) const {
  std::vector<Piece> out;
  if (added.empty()) {
    if (!text.empty()) out.push_back({text});
    return out;
  }
  std::size_t start = 0;  // of the pending plain text
  std::size_t i = 0;
  while (i < text.size()) {
    const AddedToken* hit = nullptr;
    for (const AddedToken& a : added) {
      if (text.compare(i, a.content.size(), a.content) != 0) continue;
      if (a.single_word &&
          ((i > 0 && is_word_byte(text[i - 1])) ||
           (i + a.content.size() < text.size() && is_word_byte(text[i + a.content.size()])))) {
        continue;
      }
      hit = &a;
      break;
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    std::size_t begin = i;
    std::size_t end = i + hit->content.size();
    if (hit->lstrip)
      while (begin > start && is_ascii_space(text[begin - 1])) --begin;
    if (hit->rstrip)
      while (end < text.size() && is_ascii_space(text[end])) ++end;
    if (begin > start) out.push_back({text.substr(start, begin - start)});
    out.push_back({text.substr(begin, end - begin), hit->id});
    start = i = end;
  }
  if (start < text.size()) out.push_back({text.substr(start)});
  return out;
}

void Tokenizer::Impl::split_words(std::string_view text, std::vector<std::string_view>& out) const {
  if (split.code == nullptr) {
    out.push_back(text);
    return;
  }
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(split.code, nullptr);
  if (md == nullptr) throw core::Error("tokenizer '" + name + "': out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t offset = 0;
  std::size_t last = 0;
  while (offset <= text.size()) {
    int rc = pcre2_match(split.code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(split.code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       md, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      throw core::Error("tokenizer '" + name + "': the pre-tokenizer pattern failed on a " +
                        std::to_string(text.size()) + "-byte text (PCRE2 error " +
                        std::to_string(rc) + "); split the text into smaller pieces");
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    const std::size_t b = ov[0];
    const std::size_t e = ov[1];
    if (b > last) out.push_back(text.substr(last, b - last));
    if (e > b) {
      out.push_back(text.substr(b, e - b));
      offset = e;
    } else {
      // An empty match: step over one character.
      const std::size_t n =
          b < text.size() ? std::max<std::size_t>(1, utf8_sequence_length(text, b)) : 1;
      offset = b + n;
      if (b == text.size()) break;
      continue;
    }
    last = e;
  }
  if (last < text.size()) out.push_back(text.substr(last));
  pcre2_match_data_free(md);
}

void Tokenizer::Impl::bpe_uncached(std::string_view word, std::vector<std::int32_t>& out) const {
  if (ignore_merges) {
    std::string mapped;
    for (char c : word) mapped += alphabet().symbol[static_cast<unsigned char>(c)];
    if (const auto it = vocab.find(mapped); it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  struct Symbol {
    std::int32_t id;
    int prev;
    int next;
    bool alive;
  };
  std::vector<Symbol> syms(word.size());
  for (std::size_t i = 0; i < word.size(); ++i) {
    syms[i] = {byte_ids[static_cast<unsigned char>(word[i])], static_cast<int>(i) - 1,
               i + 1 < word.size() ? static_cast<int>(i + 1) : -1, true};
  }
  struct Candidate {
    std::int32_t rank;
    int pos;
    std::int32_t left;
    std::int32_t right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push = [&](int pos) {
    if (pos < 0 || syms[static_cast<std::size_t>(pos)].next < 0) return;
    const Symbol& l = syms[static_cast<std::size_t>(pos)];
    const Symbol& r = syms[static_cast<std::size_t>(l.next)];
    const auto it = merges.find(pair_key(l.id, r.id));
    if (it != merges.end()) queue.push({it->second.first, pos, l.id, r.id});
  };
  for (std::size_t i = 0; i + 1 < word.size(); ++i) push(static_cast<int>(i));
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = syms[static_cast<std::size_t>(c.pos)];
    if (!l.alive || l.id != c.left || l.next < 0) continue;
    Symbol& r = syms[static_cast<std::size_t>(l.next)];
    if (r.id != c.right) continue;
    l.id = merges.at(pair_key(c.left, c.right)).second;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) syms[static_cast<std::size_t>(r.next)].prev = c.pos;
    push(l.prev);
    push(c.pos);
  }
  for (int i = word.empty() ? -1 : 0; i >= 0; i = syms[static_cast<std::size_t>(i)].next) {
    out.push_back(syms[static_cast<std::size_t>(i)].id);
  }
}

void Tokenizer::Impl::bpe(std::string_view word, std::vector<std::int32_t>& out) const {
  if (word.size() == 1) {
    out.push_back(byte_ids[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (word.size() > kMaxCachedWord) {
    bpe_uncached(word, out);
    return;
  }
  const std::string key(word);
  {
    std::lock_guard lock(cache_mutex);
    if (const auto it = cache.find(key); it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int32_t> ids;
  bpe_uncached(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard lock(cache_mutex);
  if (cache.size() >= kMaxCacheEntries) cache.clear();
  cache.emplace(key, std::move(ids));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    throw core::Error(
        "tokenizer '" + path.string() +
        "' does not exist: a model folder needs the tokenizer.json that save_pretrained writes");
  }
  return from_json(core::read_json_file(path), path.string());
}

Tokenizer Tokenizer::from_json(const Json& json, const std::string& name) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  if (!json.is_object()) fail(name, "is not a JSON object");
  impl->load_model(json);
  impl->load_added(json);
  impl->load_normalizer(json);
  impl->load_pre_tokenizer(json);
  const auto dec = json.find("decoder");
  if (dec != json.end() && !dec->is_null() && dec->value("type", std::string()) != "ByteLevel") {
    fail(name, "uses the decoder \"" + dec->value("type", std::string()) +
                   "\"; mat implements ByteLevel");
  }
  return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view raw) const {
  const Impl& m = *impl_;
  const std::string text = is_valid_utf8(raw) ? std::string(raw) : utf8_lossy(raw);
  std::vector<std::int32_t> ids;
  std::vector<std::string_view> words;
  for (const Piece& piece : m.split_added(text, m.raw_added)) {
    if (piece.added_id >= 0) {
      ids.push_back(piece.added_id);
      continue;
    }
    const std::string normalized = m.normalize(piece.text);
    for (const Piece& inner : m.split_added(normalized, m.normalized_added)) {
      if (inner.added_id >= 0) {
        ids.push_back(inner.added_id);
        continue;
      }
      words.clear();
      m.split_words(inner.text, words);
      for (std::string_view w : words) m.bpe(w, ids);
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  std::string bytes;
  for (const std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= m.tokens.size() ||
        m.tokens[static_cast<std::size_t>(id)].empty()) {
      continue;
    }
    if (skip_special_tokens && m.special[static_cast<std::size_t>(id)]) continue;
    const std::string& token = m.tokens[static_cast<std::size_t>(id)];
    // Each character of the token maps back to a byte; a token with a character outside the
    // byte alphabet (an added token in, say, CJK) is taken as its own UTF-8 text.
    std::string mapped;
    bool all_mapped = true;
    for (std::size_t i = 0; i < token.size();) {
      const std::size_t n = utf8_sequence_length(token, i);
      if (n == 0) {
        all_mapped = false;
        break;
      }
      char32_t cp = 0;
      const auto b0 = static_cast<unsigned char>(token[i]);
      cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1Fu) : n == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
      for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(token[i + k]) & 0x3Fu);
      const auto it = alphabet().byte.find(cp);
      if (it == alphabet().byte.end()) {
        all_mapped = false;
        break;
      }
      mapped.push_back(static_cast<char>(it->second));
      i += n;
    }
    bytes += all_mapped ? mapped : token;
  }
  return utf8_lossy(bytes);
}

std::string Tokenizer::normalize(std::string_view text) const {
  return impl_->normalize(is_valid_utf8(text) ? std::string(text) : utf8_lossy(text));
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const auto it = impl_->vocab.find(std::string(token));
  if (it == impl_->vocab.end()) return std::nullopt;
  return it->second;
}

std::string Tokenizer::id_to_token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->tokens.size()) return {};
  return impl_->tokens[static_cast<std::size_t>(id)];
}

bool Tokenizer::is_special(std::int32_t id) const {
  return id >= 0 && static_cast<std::size_t>(id) < impl_->special.size() &&
         impl_->special[static_cast<std::size_t>(id)];
}

std::size_t Tokenizer::vocab_size() const {
  return impl_->tokens.size();
}

}  // namespace mat::engine
