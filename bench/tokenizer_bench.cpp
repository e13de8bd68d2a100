// Encode speed of the byte-level BPE tokenizer (mat::engine::Tokenizer) on one core, on about
// 1 MiB of mixed text that this program generates (the same bytes on every machine): English prose,
// Python code, whitespace runs, numbers, CJK, emoji and accented Latin.
//
// Two vocabularies: the golden fixture's (480 tokens; its merges are few, so BPE is cheap) and
// bench/reference/tokenizer_bpe40k.json (40K tokens trained on Python sources, Debian docs and this
// text, with the same Qwen2 pre-tokenizer: closer to Qwen2's 151K vocabulary). Each is measured
// cold (a freshly loaded tokenizer, so its word cache starts empty) and warm (the same tokenizer
// encoding the text again and again).
//
// Time is CPU time of the process (the encode is single-threaded): on a busy machine it still
// measures one core's work. MB/s counts 10^6 bytes of UTF-8 input per CPU second.
//
// The reference is Hugging Face `tokenizers` (Tokenizer.encode) on the same text and the same
// tokenizer.json files, timed the same way by tools/golden/tokenizer_speed.py (which also records
// its ids) and committed in bench/reference/tokenizer_speed.json: the counters ref_MB/s and vs_ref
// (ours / reference) come from there, so they compare with a number measured on the machine and
// day that file names, not in this run. The ids of the whole text must equal the reference's, or
// the benchmark fails.
//
//   build/bench/tokenizer_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   build/bench/tokenizer_bench --text_out=/tmp/text.txt   # writes the text and exits
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mat/core/json.h"
#include "mat/engine/tokenizer.h"
#include "mat/engine/utf8.h"

namespace {

namespace fs = std::filesystem;
using mat::core::Json;
using mat::engine::Tokenizer;

constexpr std::size_t kTextBytes = 1 << 20;

// The source tree: $MAT_SOURCE_DIR, else the folder above this file's.
fs::path source_dir() {
  if (const char* dir = std::getenv("MAT_SOURCE_DIR"); dir != nullptr && *dir != '\0') return dir;
  return fs::path(__FILE__).parent_path().parent_path();
}

// FNV-1a, 64 bits: the fingerprint tokenizer_speed.py computes too.
std::uint64_t fnv1a(std::span<const unsigned char> bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = digits[v & 15];
  return out;
}

std::string fingerprint(std::string_view text) {
  return hex(fnv1a({reinterpret_cast<const unsigned char*>(text.data()), text.size()}));
}

// Ids as little-endian int32 bytes.
std::string fingerprint(const std::vector<std::int32_t>& ids) {
  std::vector<unsigned char> bytes;
  bytes.reserve(ids.size() * 4);
  for (const std::int32_t id : ids) {
    const auto u = static_cast<std::uint32_t>(id);
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<unsigned char>(u >> (8 * k)));
  }
  return hex(fnv1a(bytes));
}

// ---- The text -------------------------------------------------------------------------------

const std::vector<std::string_view> kWords = {"the",
                                              "of",
                                              "and",
                                              "to",
                                              "a",
                                              "in",
                                              "is",
                                              "it",
                                              "you",
                                              "that",
                                              "he",
                                              "was",
                                              "for",
                                              "on",
                                              "are",
                                              "with",
                                              "as",
                                              "I",
                                              "his",
                                              "they",
                                              "be",
                                              "at",
                                              "one",
                                              "have",
                                              "this",
                                              "from",
                                              "or",
                                              "had",
                                              "by",
                                              "not",
                                              "word",
                                              "but",
                                              "what",
                                              "some",
                                              "we",
                                              "can",
                                              "out",
                                              "other",
                                              "were",
                                              "all",
                                              "there",
                                              "when",
                                              "up",
                                              "use",
                                              "your",
                                              "how",
                                              "said",
                                              "an",
                                              "each",
                                              "she",
                                              "which",
                                              "do",
                                              "their",
                                              "time",
                                              "if",
                                              "will",
                                              "way",
                                              "about",
                                              "many",
                                              "then",
                                              "them",
                                              "write",
                                              "would",
                                              "like",
                                              "so",
                                              "these",
                                              "her",
                                              "long",
                                              "make",
                                              "thing",
                                              "see",
                                              "him",
                                              "two",
                                              "has",
                                              "look",
                                              "more",
                                              "day",
                                              "could",
                                              "go",
                                              "come",
                                              "did",
                                              "number",
                                              "sound",
                                              "no",
                                              "most",
                                              "people",
                                              "my",
                                              "over",
                                              "know",
                                              "water",
                                              "than",
                                              "call",
                                              "first",
                                              "who",
                                              "may",
                                              "down",
                                              "side",
                                              "been",
                                              "now",
                                              "find",
                                              "any",
                                              "new",
                                              "work",
                                              "part",
                                              "take",
                                              "get",
                                              "place",
                                              "made",
                                              "live",
                                              "where",
                                              "after",
                                              "back",
                                              "little",
                                              "only",
                                              "round",
                                              "man",
                                              "year",
                                              "came",
                                              "show",
                                              "every",
                                              "good",
                                              "me",
                                              "give",
                                              "our",
                                              "under",
                                              "name",
                                              "very",
                                              "through",
                                              "just",
                                              "form",
                                              "sentence",
                                              "great",
                                              "think",
                                              "say",
                                              "help",
                                              "low",
                                              "line",
                                              "differ",
                                              "turn",
                                              "cause",
                                              "much",
                                              "mean",
                                              "before",
                                              "move",
                                              "right",
                                              "boy",
                                              "old",
                                              "too",
                                              "same",
                                              "tell",
                                              "does",
                                              "set",
                                              "three",
                                              "want",
                                              "air",
                                              "well",
                                              "also",
                                              "play",
                                              "small",
                                              "end",
                                              "put",
                                              "home",
                                              "read",
                                              "hand",
                                              "port",
                                              "large",
                                              "spell",
                                              "add",
                                              "even",
                                              "land",
                                              "here",
                                              "must",
                                              "big",
                                              "high",
                                              "such",
                                              "follow",
                                              "act",
                                              "why",
                                              "ask",
                                              "men",
                                              "change",
                                              "went",
                                              "light",
                                              "kind",
                                              "off",
                                              "need",
                                              "house",
                                              "picture",
                                              "try",
                                              "us",
                                              "again",
                                              "animal",
                                              "point",
                                              "mother",
                                              "world",
                                              "near",
                                              "build",
                                              "self",
                                              "earth",
                                              "father",
                                              "model",
                                              "engine",
                                              "token",
                                              "image",
                                              "request",
                                              "server",
                                              "memory",
                                              "sandbox",
                                              "language",
                                              "vision",
                                              "agent",
                                              "function",
                                              "return",
                                              "value",
                                              "error",
                                              "string",
                                              "buffer",
                                              "don't",
                                              "it's",
                                              "we'll",
                                              "I'm",
                                              "they're",
                                              "you've",
                                              "she'd",
                                              "tokenizer",
                                              "throughput",
                                              "benchmark",
                                              "deterministic",
                                              "normalisation",
                                              "configuration",
                                              "implementation"};

const std::vector<std::string_view> kSyllables = {"ka", "lo",  "mi", "ru",  "te",  "sa", "no",
                                                  "pe", "di",  "go", "ha",  "ve",  "zu", "bri",
                                                  "st", "ion", "er", "ing", "qua", "th"};

const std::vector<std::string_view> kAccented = {
    "café",   "naïve",  "résumé",   "Über",      "straße", "façade",   "São",
    "Paulo",  "Zürich", "déjà",     "vu",        "piñata", "jalapeño", "smörgåsbord",
    "crème",  "brûlée", "Ångström", "coöperate", "Dvořák", "Łódź",     "Ελλάδα",
    "Москва", "привет", "мир",      "Αθήνα"};

const std::vector<std::string_view> kEmoji = {
    "😀",  "😂",  "🎉",    "👍", "👍🏽",           "❤️",
    "🔥",  "🚀",  "✨",    "🙏", "👨‍👩‍👧", "🏳️‍🌈",
    "🇫🇷", "🇯🇵", "🤖", "✅"};

const std::vector<std::string_view> kCjkPunctuation = {"，", "。", "、", "：", "「", "」", "！"};

class TextSource {
 public:
  // Raw mt19937 output (no std distribution), so that the text is the same with every standard
  // library.
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(random_() % n); }
  // Skewed towards the start, as word frequencies are.
  std::size_t skewed(std::size_t n) {
    const std::uint64_t a = random_() % n;
    const std::uint64_t b = random_() % n;
    return static_cast<std::size_t>(a * b / n);
  }
  bool chance(std::uint32_t percent) { return below(100) < percent; }

  std::string word() {
    if (chance(8)) {  // a rare word: the long tail the word cache does not hold
      std::string w;
      const std::uint32_t n = 2 + below(3);
      for (std::uint32_t i = 0; i < n; ++i) w += kSyllables[below(kSyllables.size())];
      return w;
    }
    return std::string(kWords[skewed(kWords.size())]);
  }

  std::string identifier() {
    std::string id = word();
    if (chance(50)) id += "_" + word();
    if (chance(15)) id += std::to_string(below(10));
    for (char& c : id) {
      if (c == '\'') c = '_';
    }
    return id;
  }

  std::string number() {
    switch (below(6)) {
      case 0:
        return std::to_string(below(100));
      case 1:
        return std::to_string(below(1000000));
      case 2:
        return std::to_string(below(1000)) + "." + std::to_string(below(100000));
      case 3: {
        std::string h = "0x";
        const char* digits = "0123456789abcdef";
        for (std::uint32_t i = 0, n = 2 + below(7); i < n; ++i) h += digits[below(16)];
        return h;
      }
      case 4:
        return std::to_string(1990 + below(40)) + "-" + std::to_string(10 + below(3)) + "-" +
               std::to_string(10 + below(19));
      default:
        return "-" + std::to_string(below(5000));
    }
  }

  void prose(std::string& out) {
    for (std::uint32_t s = 0, sentences = 2 + below(6); s < sentences; ++s) {
      for (std::uint32_t w = 0, words = 4 + below(16); w < words; ++w) {
        std::string next = chance(4) ? number() : word();
        if (w == 0 && next[0] >= 'a' && next[0] <= 'z') next[0] = static_cast<char>(next[0] - 32);
        if (w > 0) out += ' ';
        if (chance(2)) next = "\"" + next + "\"";
        out += next;
        if (w + 1 < words && chance(7)) out += chance(80) ? "," : ";";
      }
      const std::uint32_t end = below(10);
      out += end < 7 ? "." : end < 9 ? "?" : "!";
      if (s + 1 < sentences) out += ' ';
    }
    out += chance(70) ? "\n\n" : "\n";
  }

  void code(std::string& out) {
    const std::string fn = identifier();
    out += "def " + fn + "(" + identifier() + ", " + identifier() + "=" + number() + "):\n";
    out += "    \"\"\"" + word() + " " + word() + " " + word() + ".\"\"\"\n";
    for (std::uint32_t l = 0, lines = 3 + below(10); l < lines; ++l) {
      const std::string indent(chance(30) ? 8 : 4, ' ');
      switch (below(7)) {
        case 0:
          out += indent + identifier() + " = " + identifier() + "(" + number() + ")\n";
          break;
        case 1:
          out += indent + "for " + identifier() + " in range(len(" + identifier() + ")):\n";
          out += indent + "    " + identifier() + " += " + number() + "\n";
          break;
        case 2:
          out += indent + "if " + identifier() + " >= " + number() + " and not " + identifier() +
                 ":\n" + indent + "    return None\n";
          break;
        case 3:
          out += indent + "# " + word() + " " + word() + " " + word() + "\n";
          break;
        case 4:
          out += indent + identifier() + " = f\"{" + identifier() + "!r}: " + word() + "\"\n";
          break;
        case 5:
          out += indent + identifier() + " = [x * " + number() + " for x in " + identifier() +
                 " if x]\n";
          break;
        default:
          out += indent + "self." + identifier() + "[\"" + word() + "\"] = {'" + word() +
                 "': " + number() + "}\n";
          break;
      }
      if (chance(10)) out += "\n";
    }
    out += "    return " + identifier() + "\n\n";
  }

  void whitespace(std::string& out) {
    static const std::vector<std::string_view> runs = {"  ",   "   ",      "    ",    "\t",
                                                       "\t\t", "\n\n\n",   "  \n",    " \t ",
                                                       "\r\n", "\n    \n", "        "};
    for (std::uint32_t i = 0, n = 3 + below(10); i < n; ++i) {
      out += runs[below(runs.size())];
      out += word();
    }
    out += "\n";
  }

  void numbers(std::string& out) {
    for (std::uint32_t r = 0, rows = 2 + below(6); r < rows; ++r) {
      for (std::uint32_t c = 0; c < 5; ++c) out += (c > 0 ? " | " : "") + number();
      out += "\n";
    }
  }

  void cjk(std::string& out) {
    for (std::uint32_t i = 0, n = 10 + below(50); i < n; ++i) {
      if (chance(8)) {
        out += kCjkPunctuation[below(kCjkPunctuation.size())];
      } else if (chance(10)) {
        mat::engine::append_utf8(out, static_cast<char32_t>(0x3041 + below(0x56)));  // hiragana
      } else if (chance(3)) {
        out += " " + word() + " ";
      } else {
        // The common ideographs first (U+4E00...), a long tail after.
        mat::engine::append_utf8(out, static_cast<char32_t>(0x4E00 + skewed(0x5000)));
      }
    }
    out += "\n";
  }

  void emoji(std::string& out) {
    for (std::uint32_t i = 0, n = 3 + below(8); i < n; ++i) {
      if (chance(50)) out += word() + " ";
      out += kEmoji[below(kEmoji.size())];
      if (chance(30)) out += kEmoji[below(kEmoji.size())];
      out += ' ';
    }
    out += "\n";
  }

  void accented(std::string& out) {
    for (std::uint32_t i = 0, n = 5 + below(12); i < n; ++i) {
      if (i > 0) out += ' ';
      out += chance(40) ? std::string(kAccented[below(kAccented.size())]) : word();
      // Now and then a decomposed accent, which NFC composes.
      if (chance(2)) out += "e\u0301";
    }
    out += ".\n";
  }

 private:
  std::mt19937 random_{20240917};
};

std::string make_text() {
  TextSource src;
  std::string out;
  while (out.size() < kTextBytes) {
    const std::uint32_t kind = src.below(100);
    if (kind < 38) {
      src.prose(out);
    } else if (kind < 63) {
      src.code(out);
    } else if (kind < 68) {
      src.whitespace(out);
    } else if (kind < 76) {
      src.numbers(out);
    } else if (kind < 88) {
      src.cjk(out);
    } else if (kind < 94) {
      src.emoji(out);
    } else {
      src.accented(out);
    }
  }
  return out;
}

const std::string& text() {
  static const std::string t = make_text();
  return t;
}

// ---- The reference --------------------------------------------------------------------------

struct Reference {
  double cold_mb_per_s = 0;
  double warm_mb_per_s = 0;
  std::size_t ids = 0;
  std::string ids_fnv1a64;
};

// The reference numbers for `name`, when bench/reference/tokenizer_speed.json was measured on this
// very text; nullopt (and a note on stderr) otherwise.
std::optional<Reference> reference(const std::string& name) {
  const fs::path path = source_dir() / "bench/reference/tokenizer_speed.json";
  if (!fs::exists(path)) return std::nullopt;
  const Json json = mat::core::read_json_file(path);
  if (json["text"]["fnv1a64"].get<std::string>() != fingerprint(text())) {
    static bool told = false;
    if (!told) {
      std::cerr << path.string()
                << " was measured on another text: rerun tools/golden/tokenizer_speed.py\n";
      told = true;
    }
    return std::nullopt;
  }
  const auto it = json["tokenizers"].find(name);
  if (it == json["tokenizers"].end()) return std::nullopt;
  Reference r;
  r.cold_mb_per_s = (*it)["cold_mb_per_s"].get<double>();
  r.warm_mb_per_s = (*it)["warm_mb_per_s"].get<double>();
  r.ids = (*it)["ids"].get<std::size_t>();
  r.ids_fnv1a64 = (*it)["ids_fnv1a64"].get<std::string>();
  return r;
}

// CPU seconds of this process (single-threaded here), the clock tokenizer_speed.py uses too: on a
// busy machine it still measures one core's work.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void encode(benchmark::State& state, const std::string& name, const fs::path& file, bool warm) {
  const std::string& t = text();
  const std::optional<Reference> ref = reference(name);
  std::optional<Tokenizer> tok = Tokenizer::load(file);
  {
    const std::vector<std::int32_t> ids = tok->encode(t);  // also warms the cache
    if (ref && (ids.size() != ref->ids || fingerprint(ids) != ref->ids_fnv1a64)) {
      state.SkipWithError(("the ids differ from the reference's (" + std::to_string(ids.size()) +
                           " ids, " + std::to_string(ref->ids) + " expected)")
                              .c_str());
      return;
    }
    state.counters["ids"] = static_cast<double>(ids.size());
  }
  double seconds = 0;
  for (auto _ : state) {
    if (!warm) tok.emplace(Tokenizer::load(file));  // an empty word cache; not timed
    const double start = cpu_seconds();
    std::vector<std::int32_t> ids = tok->encode(t);
    benchmark::DoNotOptimize(ids.data());
    const double took = cpu_seconds() - start;
    state.SetIterationTime(took);
    seconds += took;
  }
  const double bytes = static_cast<double>(t.size()) * static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  const double mb_per_s = bytes / seconds / 1e6;
  state.counters["MB/s"] = mb_per_s;
  if (ref) {
    const double ref_mb_per_s = warm ? ref->warm_mb_per_s : ref->cold_mb_per_s;
    state.counters["ref_MB/s"] = ref_mb_per_s;
    state.counters["vs_ref"] = mb_per_s / ref_mb_per_s;
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    constexpr std::string_view flag = "--text_out=";
    if (std::string_view(argv[i]).starts_with(flag)) {
      std::ofstream out(argv[i] + flag.size(), std::ios::binary);
      out << text();
      return out.good() ? 0 : 1;
    }
  }
  const fs::path fixture = source_dir() / "tests/fixtures/golden/model/tokenizer.json";
  const fs::path bpe40k = source_dir() / "bench/reference/tokenizer_bpe40k.json";
  for (const bool warm : {false, true}) {
    const std::string how = warm ? "warm" : "cold";
    benchmark::RegisterBenchmark(("encode/fixture/" + how).c_str(),
                                 [=](benchmark::State& s) { encode(s, "fixture", fixture, warm); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    if (fs::exists(bpe40k)) {
      benchmark::RegisterBenchmark(("encode/bpe40k/" + how).c_str(),
                                   [=](benchmark::State& s) { encode(s, "bpe40k", bpe40k, warm); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
