#include "mat/engine/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <queue>
#include <span>
#include <unordered_map>

#include "mat/core/error.h"
#include "mat/engine/utf8.h"

namespace mat::engine {
namespace {

using core::Json;

// GPT-2's pattern, used when the pre-tokenizer is a ByteLevel with use_regex = true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Qwen2's pattern (transformers' PRETOKENIZE_REGEX), which split_qwen2 below implements by hand.
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Words up to this long (bytes) are merged on small arrays; longer ones with a priority queue.
constexpr std::size_t kMaxShortWord = 64;

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

// is_valid_utf8, eight ASCII bytes at a time.
bool valid_utf8(std::string_view text) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    std::uint64_t v = 0;
    while (i + 8 <= n && (std::memcpy(&v, text.data() + i, 8), (v & 0x8080808080808080ULL) == 0)) {
      i += 8;
    }
    if (i == n) break;
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// The code point at `text[i]` (valid UTF-8) and its length.
std::pair<char32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return {b0, 1};
  auto cont = [&](std::size_t k) { return static_cast<char32_t>(text[i + k] & 0x3F); };
  if (b0 < 0xE0) return {(static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1), 2};
  if (b0 < 0xF0) return {(static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3};
  return {(static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3), 4};
}

std::string utf8proc_nfc(std::string_view text) {
  utf8proc_uint8_t* result = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &result,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) throw core::Error(std::string("NFC normalisation failed: ") + utf8proc_errmsg(n));
  std::string out(reinterpret_cast<const char*>(result), static_cast<std::size_t>(n));
  std::free(result);
  return out;
}

// NFC's quick check (UAX #15), from utf8proc's own data: a code point is stable when NFC leaves it
// alone and it starts a new composition, i.e. its combining class is 0, it has no decomposition
// that NFC would not compose back, and it can neither be nor start with the second half of a
// composition. NFC then never changes anything across the boundary before a stable code point, so
// a text is normalised stretch by stretch, each from a stable code point to the next; a text of
// stable code points only is its own NFC. Conservative: code points from U+30000 on (planes 3 and
// up: rare CJK, tags, variation selectors) count as unstable and go the slow way.
class NfcQuickCheck {
 public:
  static constexpr char32_t kLimit = 0x30000;

  NfcQuickCheck() : stable_(kLimit, true) {
    std::vector<bool> second(kLimit, false);
    std::vector<char32_t> first(kLimit, 0);
    for (char32_t cp = 0; cp < kLimit; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        stable_[cp] = false;
        continue;
      }
      const auto c = static_cast<utf8proc_int32_t>(cp);
      if (utf8proc_get_property(c)->combining_class != 0) stable_[cp] = false;
      std::array<utf8proc_int32_t, 32> decomposed{};
      int boundclass = 0;
      const utf8proc_ssize_t n = utf8proc_decompose_char(
          c, decomposed.data(), static_cast<utf8proc_ssize_t>(decomposed.size()),
          UTF8PROC_DECOMPOSE, &boundclass);
      if (n <= 0 || static_cast<std::size_t>(n) > decomposed.size()) {
        stable_[cp] = false;
        continue;
      }
      if (n == 1 && decomposed[0] == c) continue;
      first[cp] = static_cast<char32_t>(decomposed[0]);
      for (utf8proc_ssize_t k = 1; k < n; ++k) {
        if (static_cast<char32_t>(decomposed[static_cast<std::size_t>(k)]) < kLimit) {
          second[static_cast<std::size_t>(decomposed[static_cast<std::size_t>(k)])] = true;
        }
      }
      std::string alone;
      append_utf8(alone, cp);
      if (utf8proc_nfc(alone) != alone) stable_[cp] = false;
    }
    for (char32_t cp = 0; cp < kLimit; ++cp) {
      if (second[cp] || (first[cp] != 0 && (first[cp] >= kLimit || second[first[cp]]))) {
        stable_[cp] = false;
      }
    }
  }

  bool stable(char32_t cp) const { return cp < kLimit && stable_[cp]; }

 private:
  std::vector<bool> stable_;
};

const NfcQuickCheck& nfc_quick_check() {
  static const NfcQuickCheck q;
  return q;
}

// NFC of `text`; `buffer` holds the result when it differs.
std::string_view nfc_normalize(std::string_view text, std::string& buffer) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n && static_cast<unsigned char>(text[i]) < 0x80) ++i;
  if (i == n) return text;
  const NfcQuickCheck& q = nfc_quick_check();
  bool copied = false;
  std::size_t done = 0;      // text[0, done) is in the buffer when copied
  std::size_t boundary = 0;  // the start of the last stable code point seen
  while (i < n) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      boundary = i++;
      continue;
    }
    const auto [cp, len] = decode_utf8(text, i);
    if (q.stable(cp)) {
      boundary = i;
      i += len;
      continue;
    }
    // An unstable code point: normalise from the last stable one to the next.
    std::size_t end = i + len;
    while (end < n) {
      const auto [next, next_len] = decode_utf8(text, end);
      if (q.stable(next)) break;
      end += next_len;
    }
    if (!copied) {
      buffer.clear();
      buffer.reserve(n + n / 8);
      copied = true;
    }
    buffer.append(text.substr(done, boundary - done));
    buffer += utf8proc_nfc(text.substr(boundary, end - boundary));
    done = boundary = i = end;
  }
  if (!copied) return text;
  buffer.append(text.substr(done));
  return buffer;
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

// The character classes of the split patterns, \p{L}, \p{N} and \s (with U+0085, see
// onig_compatible), as PCRE2 has them, so that split_qwen2 and the PCRE2 path agree on every code
// point. ASCII is classified up front, the rest when first seen (a relaxed atomic byte per code
// point: the value is the same whichever thread writes it).
class CharClasses {
 public:
  static constexpr std::uint8_t kLetter = 1;
  static constexpr std::uint8_t kNumber = 2;
  static constexpr std::uint8_t kSpace = 4;

  CharClasses() : table_(new std::atomic<std::uint8_t>[kCodePoints]()) {
    const std::array<std::string_view, 3> patterns = {R"(\p{L})", R"(\p{N})", R"([\s\x{85}])"};
    for (std::size_t k = 0; k < patterns.size(); ++k) {
      int error = 0;
      PCRE2_SIZE offset = 0;
      codes_[k] =
          pcre2_compile(reinterpret_cast<PCRE2_SPTR>(patterns[k].data()), patterns[k].size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &offset, nullptr);
      if (codes_[k] == nullptr) throw core::Error("cannot compile a character class");
    }
    for (char32_t cp = 0; cp < 0x80; ++cp) ascii_[cp] = classify(cp);
  }
  CharClasses(const CharClasses&) = delete;
  CharClasses& operator=(const CharClasses&) = delete;
  ~CharClasses() {
    for (pcre2_code* c : codes_) pcre2_code_free(c);
  }

  std::uint8_t of(char32_t cp) const {
    if (cp < 0x80) return ascii_[cp];
    std::uint8_t v = table_[cp].load(std::memory_order_relaxed);
    if (v == 0) {
      v = static_cast<std::uint8_t>(classify(cp) | kKnown);
      table_[cp].store(v, std::memory_order_relaxed);
    }
    return v & kClasses;
  }

 private:
  static constexpr std::size_t kCodePoints = 0x110000;
  static constexpr std::uint8_t kKnown = 8;
  static constexpr std::uint8_t kClasses = kLetter | kNumber | kSpace;

  std::uint8_t classify(char32_t cp) const {
    std::string s;
    append_utf8(s, cp);
    std::uint8_t v = 0;
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    if (md == nullptr) throw std::bad_alloc();
    for (std::size_t k = 0; k < codes_.size(); ++k) {
      if (pcre2_match(codes_[k], reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md,
                      nullptr) >= 0) {
        v = static_cast<std::uint8_t>(v | (1u << k));
      }
    }
    pcre2_match_data_free(md);
    return v;
  }

  std::array<pcre2_code*, 3> codes_{};
  std::array<std::uint8_t, 0x80> ascii_{};
  std::unique_ptr<std::atomic<std::uint8_t>[]> table_;
};

const CharClasses& char_classes() {
  static const CharClasses c;
  return c;
}

// The length of the contraction after an apostrophe at text[i - 1] ('s, 't, 're, 've, 'm, 'll,
// 'd, any case; PCRE2's caseless 's' also matches U+017F), 0 when there is none.
std::size_t contraction(std::string_view text, std::size_t i) {
  if (i >= text.size()) return 0;
  auto lower = [&](std::size_t k) {
    return k < text.size() ? static_cast<char>(text[k] | 0x20) : '\0';
  };
  switch (text[i] | 0x20) {
    case 's':
    case 't':
    case 'm':
    case 'd':
      return 1;
    case 'r':
    case 'v':
      return lower(i + 1) == 'e' ? 2 : 0;
    case 'l':
      return lower(i + 1) == 'l' ? 2 : 0;
    default:
      break;
  }
  return text.compare(i, 2, "\xC5\xBF") == 0 ? 2 : 0;  // U+017F LATIN SMALL LETTER LONG S
}

// Splits `text` (valid UTF-8) as PCRE2 does with kQwen2Pattern, calling word(begin, end) for each
// match; the alternatives are tried in the pattern's order at each position:
//   1 (?i:'s|'t|'re|'ve|'m|'ll|'d)   2 [^\r\n\p{L}\p{N}]?\p{L}+   3 \p{N}
//   4 ' '?[^\s\p{L}\p{N}]+[\r\n]*   5 \s*[\r\n]+   6 \s+(?!\S)   7 \s+
// Every code point starts a match of one of them, so the words cover the text.
template <class Word>
void split_qwen2(std::string_view text, Word&& word) {
  const CharClasses& classes = char_classes();
  constexpr std::uint8_t kL = CharClasses::kLetter;
  constexpr std::uint8_t kN = CharClasses::kNumber;
  constexpr std::uint8_t kS = CharClasses::kSpace;
  const std::size_t n = text.size();
  // The class of the code point at `k` (k < n) and its length.
  auto at = [&](std::size_t k) -> std::pair<std::uint8_t, std::size_t> {
    const auto b = static_cast<unsigned char>(text[k]);
    if (b < 0x80) return {classes.of(b), 1};
    const auto [cp, len] = decode_utf8(text, k);
    return {classes.of(cp), len};
  };
  auto is_newline = [&](std::size_t k) { return text[k] == '\r' || text[k] == '\n'; };
  // The end of the run of code points from `k` whose class satisfies `in`.
  auto run = [&](std::size_t k, auto in) {
    while (k < n) {
      const auto [c, len] = at(k);
      if (!in(c)) break;
      k += len;
    }
    return k;
  };
  auto letter = [](std::uint8_t c) { return (c & kL) != 0; };
  auto other = [](std::uint8_t c) { return (c & (kL | kN | kS)) == 0; };
  std::size_t i = 0;
  while (i < n) {
    const auto [c, len] = at(i);
    std::size_t j = i + len;
    if (text[i] == '\'') {
      if (const std::size_t m = contraction(text, j); m > 0) {
        word(i, j + m);
        i = j + m;
        continue;
      }
    }
    if ((c & kL) != 0) {  // 2, without the optional first character
      j = run(j, letter);
    } else if ((c & kN) == 0 && !is_newline(i) && j < n && (at(j).first & kL) != 0) {  // 2
      j = run(j, letter);
    } else if ((c & kN) != 0) {                                                     // 3
    } else if ((c & kS) == 0 || (text[i] == ' ' && j < n && other(at(j).first))) {  // 4
      j = run(j, other);
      while (j < n && is_newline(j)) ++j;
    } else {                        // whitespace: 5, 6 or 7
      std::size_t last_start = i;   // of the run's last code point
      std::size_t newline_end = 0;  // just past the run's last \r or \n
      std::size_t count = 0;
      std::size_t k = i;
      while (k < n) {
        const auto [ck, lk] = at(k);
        if ((ck & kS) == 0) break;
        if (is_newline(k)) newline_end = k + 1;
        last_start = k;
        k += lk;
        ++count;
      }
      if (newline_end > 0) {
        j = newline_end;  // 5
      } else if (k == n || count == 1) {
        j = k;  // 6 at the end of the text, else 7
      } else {
        j = last_start;  // 6: all but the last, which the next word takes
      }
    }
    word(i, j);
    i = j;
  }
}

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

// Added tokens, longest first, and the bytes they can start with.
struct AddedTokens {
  std::vector<AddedToken> tokens;
  std::array<bool, 256> first_byte{};
};

// A fast hash of a short byte string (a word of the pre-tokenizer).
std::uint64_t hash_word(std::string_view s) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  std::uint64_t h = s.size() * kMul;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t v = 0;
    std::memcpy(&v, s.data() + i, 8);
    h = (h ^ v) * kMul;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    std::uint64_t v = 0;
    std::memcpy(&v, s.data() + i, s.size() - i);
    h = (h ^ v) * kMul;
  }
  h ^= h >> 32;
  h *= kMul;
  return h ^ (h >> 29);
}

// The merges: (left id, right id) -> (rank, merged id), in an open-addressing table.
class MergeTable {
 public:
  struct Merge {
    std::int32_t rank;
    std::int32_t id;
  };

  void reserve(std::size_t n) {
    std::size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    slots_.assign(capacity, Slot{});
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  }
  // Keeps the first merge of a pair, as the map it replaces did.
  void insert(std::int32_t left, std::int32_t right, Merge merge) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    Slot& s = slots_[index_of(key(left, right))];
    if (s.key == kEmpty) {
      s = {key(left, right), merge};
      ++size_;
    }
  }
  const Merge* find(std::int32_t left, std::int32_t right) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[index_of(key(left, right))];
    return s.key == kEmpty ? nullptr : &s.merge;
  }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  struct Slot {
    std::uint64_t key = kEmpty;
    Merge merge{};
  };
  static std::uint64_t key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  // The slot holding `k`, or the empty one where it would go.
  std::size_t index_of(std::uint64_t k) const {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ULL) >> shift_);
    while (slots_[i].key != kEmpty && slots_[i].key != k) i = (i + 1) & mask;
    return i;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    reserve(std::max<std::size_t>(old.size(), 8));
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmpty) {
        slots_[index_of(s.key)] = s;
        ++size_;
      }
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  unsigned shift_ = 64;
};

// The ids of recently seen words: a fixed table of 4-way buckets, the bucket picked by the word's
// hash, a full bucket losing the entry its hash points at. Nothing is allocated per word; striped
// locks make it thread-safe. Words longer than kMaxKey bytes or of more than kMaxIds tokens are
// not kept.
class WordCache {
 public:
  static constexpr std::size_t kMaxKey = 54;
  static constexpr std::size_t kMaxIds = 16;

  WordCache() : hashes_(kSlots, 0), entries_(kSlots) {}

  bool find(std::string_view word, std::uint64_t hash, std::vector<std::int32_t>& out) const {
    const std::size_t bucket = (hash & (kBuckets - 1)) * kWays;
    std::lock_guard lock(locks_[bucket / kWays % kLocks]);
    for (std::size_t w = 0; w < kWays; ++w) {
      if (hashes_[bucket + w] != hash) continue;
      const Entry& e = entries_[bucket + w];
      if (e.length != word.size() || std::memcmp(e.key.data(), word.data(), word.size()) != 0) {
        continue;
      }
      out.insert(out.end(), e.ids.begin(), e.ids.begin() + e.count);
      return true;
    }
    return false;
  }

  void insert(std::string_view word, std::uint64_t hash, std::span<const std::int32_t> ids) {
    if (word.size() > kMaxKey || ids.size() > kMaxIds || hash == 0) return;
    const std::size_t bucket = (hash & (kBuckets - 1)) * kWays;
    std::lock_guard lock(locks_[bucket / kWays % kLocks]);
    std::size_t slot = bucket + (hash >> 62);  // the victim when the bucket is full
    for (std::size_t w = 0; w < kWays; ++w) {
      if (hashes_[bucket + w] == 0) {
        slot = bucket + w;
        break;
      }
    }
    hashes_[slot] = hash;
    Entry& e = entries_[slot];
    e.length = static_cast<std::uint8_t>(word.size());
    e.count = static_cast<std::uint8_t>(ids.size());
    std::memcpy(e.key.data(), word.data(), word.size());
    std::copy(ids.begin(), ids.end(), e.ids.begin());
  }

 private:
  static constexpr std::size_t kWays = 4;
  static constexpr std::size_t kBuckets = 1 << 12;
  static constexpr std::size_t kSlots = kBuckets * kWays;  // 16,384 words, 2 MiB
  static constexpr std::size_t kLocks = 64;
  struct Entry {
    std::uint8_t length = 0;
    std::uint8_t count = 0;
    std::array<char, kMaxKey + 8> key{};
    std::array<std::int32_t, kMaxIds> ids{};
  };
  static_assert(sizeof(Entry) == 128);

  std::vector<std::uint64_t> hashes_;  // 0: an empty slot (hash_word of a cached word is not 0)
  std::vector<Entry> entries_;
  mutable std::array<std::mutex, kLocks> locks_;
};

}  // namespace

struct Tokenizer::Impl {
  std::string name;
  std::unordered_map<std::string, std::int32_t> vocab;
  std::vector<std::string> tokens;  // id -> token string (model vocabulary and added tokens)
  std::vector<bool> special;
  MergeTable merges;
  std::array<std::int32_t, 256> byte_ids{};
  bool ignore_merges = false;
  bool nfc = false;
  Regex split;
  bool qwen2_split = false;      // the pattern is kQwen2Pattern: split_qwen2 instead of PCRE2
  AddedTokens raw_added;         // matched before normalisation
  AddedTokens normalized_added;  // matched after

  mutable WordCache cache;

  // J is core::Json (from_json) or nlohmann::json (load: its objects are std::maps, which a
  // 151K-token vocabulary needs; an ordered_json object finds its keys by linear search).
  template <class J>
  static std::unique_ptr<Impl> build(const J& json, const std::string& name);
  template <class J>
  void load_added(const J& json);
  template <class J>
  void load_normalizer(const J& json);
  template <class J>
  void load_pre_tokenizer(const J& json);
  template <class J>
  void load_model(const J& json);
  void compile(std::string_view pattern);

  std::vector<Piece> split_added(std::string_view text, const AddedTokens& added) const;
  // Calls added(id) for each added token of `text` and plain(stretch) for each normalised stretch
  // of text between them, in order.
  template <class Added, class Plain>
  void scan(std::string_view text, Added&& added, Plain&& plain) const;
  // Splits `text` with the pre-tokenizer's pattern, calling word(substring) for each word.
  template <class Word>
  void split_words(std::string_view text, Word&& word) const;
  void bpe(std::string_view word, std::vector<std::int32_t>& out) const;
  void bpe_uncached(std::string_view word, std::vector<std::int32_t>& out) const;
  void bpe_short(std::string_view word, std::vector<std::int32_t>& out) const;
  void bpe_long(std::string_view word, std::vector<std::int32_t>& out) const;
  std::string normalize(std::string_view text) const;
};

template <class J>
void Tokenizer::Impl::load_added(const J& json) {
  const auto it = json.find("added_tokens");
  if (it == json.end() || it->is_null()) return;
  if (!it->is_array()) fail(name, "\"added_tokens\" is not an array");
  for (const J& t : *it) {
    if (!t.is_object() || !t.contains("id") || !t.contains("content") ||
        !t["id"].is_number_integer() || !t["content"].is_string()) {
      fail(name, "an entry of \"added_tokens\" lacks an integer id or a string content");
    }
    AddedToken a;
    a.id = t["id"].template get<std::int32_t>();
    a.content = t["content"].template get<std::string>();
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
    AddedTokens& set = a.normalized ? normalized_added : raw_added;
    set.first_byte[static_cast<unsigned char>(a.content[0])] = true;
    set.tokens.push_back(std::move(a));
  }
  // Longest first, so that the scan below finds the leftmost-longest match.
  auto by_length = [](const AddedToken& x, const AddedToken& y) {
    return x.content.size() > y.content.size();
  };
  std::stable_sort(raw_added.tokens.begin(), raw_added.tokens.end(), by_length);
  std::stable_sort(normalized_added.tokens.begin(), normalized_added.tokens.end(), by_length);
}

template <class J>
void Tokenizer::Impl::load_normalizer(const J& json) {
  const auto it = json.find("normalizer");
  if (it == json.end() || it->is_null()) return;
  auto one = [&](const J& n) {
    const std::string type = n.value("type", std::string());
    if (type == "NFC") {
      nfc = true;
    } else {
      fail(name, "uses the normalizer \"" + type + "\"; mat implements NFC only");
    }
  };
  if (it->value("type", std::string()) == "Sequence") {
    for (const J& n : it->value("normalizers", J::array())) one(n);
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

template <class J>
void Tokenizer::Impl::load_pre_tokenizer(const J& json) {
  const auto it = json.find("pre_tokenizer");
  if (it == json.end() || it->is_null())
    fail(name, "has no pre_tokenizer; mat needs a byte-level one");
  std::vector<const J*> parts;
  if (it->value("type", std::string()) == "Sequence") {
    for (const J& p : (*it)["pretokenizers"]) parts.push_back(&p);
  } else {
    parts.push_back(&*it);
  }
  bool byte_level = false;
  for (const J* p : parts) {
    const std::string type = p->value("type", std::string());
    if (type == "Split") {
      if (split.code != nullptr) fail(name, "has two Split pre-tokenizers; mat supports one");
      if (p->value("behavior", std::string()) != "Isolated" || p->value("invert", false)) {
        fail(name, "its Split pre-tokenizer is not {behavior: Isolated, invert: false}");
      }
      const J& pattern = (*p)["pattern"];
      if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
        const std::string regex = pattern["Regex"].template get<std::string>();
        compile(regex);
        qwen2_split = regex == kQwen2Pattern;
      } else if (pattern.contains("String") && pattern["String"].is_string()) {
        compile(quote_literal(pattern["String"].template get<std::string>()));
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

template <class J>
void Tokenizer::Impl::load_model(const J& json) {
  const auto it = json.find("model");
  if (it == json.end() || !it->is_object()) fail(name, "has no \"model\" object");
  const J& m = *it;
  if (m.value("type", std::string("BPE")) != "BPE") {
    fail(name, "has a \"" + m.value("type", std::string()) + "\" model; mat implements BPE only");
  }
  if (!m.value("continuing_subword_prefix", J()).is_null() &&
      !m["continuing_subword_prefix"].template get<std::string>().empty()) {
    fail(name, "uses continuing_subword_prefix, which byte-level BPE does not");
  }
  if (!m.value("end_of_word_suffix", J()).is_null() &&
      !m["end_of_word_suffix"].template get<std::string>().empty()) {
    fail(name, "uses end_of_word_suffix, which byte-level BPE does not");
  }
  if (!m.value("dropout", J()).is_null())
    fail(name, "uses BPE dropout; mat tokenizes deterministically");
  ignore_merges = m.value("ignore_merges", false);

  const auto v = m.find("vocab");
  if (v == m.end() || !v->is_object()) fail(name, "has no model vocab");
  for (auto e = v->begin(); e != v->end(); ++e) {
    if (!e.value().is_number_integer() || e.value().template get<std::int64_t>() < 0) {
      fail(name, "vocab entry '" + e.key() + "' has no non-negative id");
    }
    const auto id = e.value().template get<std::int32_t>();
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
  merges.reserve(mg->size());
  std::int32_t rank = 0;
  for (const J& e : *mg) {
    std::string a;
    std::string b;
    if (e.is_string()) {
      const std::string s = e.template get<std::string>();
      const std::size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) fail(name, "merge \"" + s + "\" is not two tokens");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].template get<std::string>();
      b = e[1].template get<std::string>();
    } else {
      fail(name, "a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
    const auto ia = vocab.find(a);
    const auto ib = vocab.find(b);
    const auto iab = vocab.find(a + b);
    if (ia == vocab.end() || ib == vocab.end() || iab == vocab.end()) {
      fail(name, "merge \"" + a + " " + b + "\" uses or makes a token missing from the vocab");
    }
    merges.insert(ia->second, ib->second, {rank++, iab->second});
  }
}

std::string Tokenizer::Impl::normalize(std::string_view text) const {
  if (!nfc) return std::string(text);
  std::string buffer;
  try {
    return std::string(nfc_normalize(text, buffer));
  } catch (const core::Error& e) {
    fail(name, e.what());
  }
}

std::vector<Piece> Tokenizer::Impl::split_added(std::string_view text,
                                                const AddedTokens& added) const {
  std::vector<Piece> out;
  if (added.tokens.empty()) {
    if (!text.empty()) out.push_back({text});
    return out;
  }
  std::size_t start = 0;  // of the pending plain text
  std::size_t i = 0;
  while (i < text.size()) {
    if (!added.first_byte[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const AddedToken* hit = nullptr;
    for (const AddedToken& a : added.tokens) {
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

template <class Word>
void Tokenizer::Impl::split_words(std::string_view text, Word&& word) const {
  if (split.code == nullptr) {
    word(text);
    return;
  }
  if (qwen2_split) {
    split_qwen2(text, [&](std::size_t b, std::size_t e) { word(text.substr(b, e - b)); });
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
    if (b > last) word(text.substr(last, b - last));
    if (e > b) {
      word(text.substr(b, e - b));
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
  if (last < text.size()) word(text.substr(last));
  pcre2_match_data_free(md);
}

void Tokenizer::Impl::bpe_uncached(std::string_view word, std::vector<std::int32_t>& out) const {
  if (ignore_merges) {
    if (const auto it = vocab.find(byte_level_spelling(word)); it != vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (word.size() <= kMaxShortWord) {
    bpe_short(word, out);
  } else {
    bpe_long(word, out);
  }
}

// The merge of lowest rank first, the leftmost of equal ranks (as bpe_long's queue orders them),
// on arrays: the symbols' ids and the rank of each symbol with its right neighbour.
void Tokenizer::Impl::bpe_short(std::string_view word, std::vector<std::int32_t>& out) const {
  constexpr std::int32_t kNone = std::numeric_limits<std::int32_t>::max();
  std::array<std::int32_t, kMaxShortWord> ids;
  std::array<std::int32_t, kMaxShortWord> ranks;
  std::size_t n = word.size();
  for (std::size_t i = 0; i < n; ++i) ids[i] = byte_ids[static_cast<unsigned char>(word[i])];
  auto rank_at = [&](std::size_t i) {
    const MergeTable::Merge* m = merges.find(ids[i], ids[i + 1]);
    return m == nullptr ? kNone : m->rank;
  };
  for (std::size_t i = 0; i + 1 < n; ++i) ranks[i] = rank_at(i);
  while (n > 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == kNone) break;
    ids[best] = merges.find(ids[best], ids[best + 1])->id;
    for (std::size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
    }
    --n;
    if (best + 1 < n) ranks[best] = rank_at(best);
    if (best > 0) ranks[best - 1] = rank_at(best - 1);
  }
  out.insert(out.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
}

// The same merges with a priority queue of candidate pairs, for long words.
void Tokenizer::Impl::bpe_long(std::string_view word, std::vector<std::int32_t>& out) const {
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
    if (const MergeTable::Merge* m = merges.find(l.id, r.id))
      queue.push({m->rank, pos, l.id, r.id});
  };
  for (std::size_t i = 0; i + 1 < word.size(); ++i) push(static_cast<int>(i));
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = syms[static_cast<std::size_t>(c.pos)];
    if (!l.alive || l.id != c.left || l.next < 0) continue;
    Symbol& r = syms[static_cast<std::size_t>(l.next)];
    if (r.id != c.right) continue;
    l.id = merges.find(c.left, c.right)->id;
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
  if (word.size() > WordCache::kMaxKey) {
    bpe_uncached(word, out);
    return;
  }
  const std::uint64_t hash = hash_word(word);
  if (cache.find(word, hash, out)) return;
  const std::size_t before = out.size();
  bpe_uncached(word, out);
  cache.insert(word, hash, std::span<const std::int32_t>(out).subspan(before));
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
  const std::string text = core::read_file(path);
  if (core::json_nesting_depth(text) > core::kMaxJsonDepth) {
    fail(path.string(), "nests arrays or objects more than " + std::to_string(core::kMaxJsonDepth) +
                            " deep: it is not a tokenizer.json");
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw core::Error("'" + path.string() + "' is not valid JSON: " + e.what());
  }
  return Tokenizer(Impl::build(json, path.string()));
}

Tokenizer Tokenizer::from_json(const Json& json, const std::string& name) {
  return Tokenizer(Impl::build(json, name));
}

template <class J>
std::unique_ptr<Tokenizer::Impl> Tokenizer::Impl::build(const J& json, const std::string& name) {
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
  return impl;
}

template <class Added, class Plain>
void Tokenizer::Impl::scan(std::string_view raw, Added&& added, Plain&& plain) const {
  std::string repaired;
  std::string_view text = raw;
  if (!valid_utf8(raw)) {
    repaired = utf8_lossy(raw);
    text = repaired;
  }
  std::string buffer;
  for (const Piece& piece : split_added(text, raw_added)) {
    if (piece.added_id >= 0) {
      added(piece.added_id);
      continue;
    }
    std::string_view normalized = piece.text;
    if (nfc) {
      try {
        normalized = nfc_normalize(piece.text, buffer);
      } catch (const core::Error& e) {
        fail(name, e.what());
      }
    }
    for (const Piece& inner : split_added(normalized, normalized_added)) {
      if (inner.added_id >= 0) {
        added(inner.added_id);
      } else {
        plain(inner.text);
      }
    }
  }
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text) const {
  const Impl& m = *impl_;
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 16);
  m.scan(
      text, [&](std::int32_t id) { ids.push_back(id); },
      [&](std::string_view plain) {
        m.split_words(plain, [&](std::string_view word) { m.bpe(word, ids); });
      });
  return ids;
}

void Tokenizer::pre_tokenize(std::string_view text,
                             const std::function<void(std::string_view)>& word) const {
  const Impl& m = *impl_;
  m.scan(
      text, [](std::int32_t) {}, [&](std::string_view plain) { m.split_words(plain, word); });
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

std::string byte_level_spelling(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) out += alphabet().symbol[static_cast<unsigned char>(c)];
  return out;
}

}  // namespace mat::engine
