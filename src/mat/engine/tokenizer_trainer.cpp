#include "mat/engine/tokenizer_trainer.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <queue>
#include <unordered_map>

#include "mat/core/error.h"
#include "mat/engine/tokenizer.h"

namespace mat::engine {

namespace {

using core::Json;

// Qwen2's split pattern (transformers' PRETOKENIZE_REGEX), which the Tokenizer matches by hand.
constexpr std::string_view kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

using PairKey = std::uint64_t;

PairKey pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

// A candidate merge: the most frequent pair first, the smaller ids first among equals (the
// determinism the trainer promises).
struct Candidate {
  std::int64_t count;
  PairKey key;
  bool operator<(const Candidate& o) const {
    return count != o.count ? count < o.count : key > o.key;
  }
};

Json byte_level(const Json& extra) {
  Json j = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}};
  j.update(extra);
  return j;
}

}  // namespace

const std::vector<std::string>& qwen2vl_special_tokens() {
  static const std::vector<std::string> tokens = {
      "<|endoftext|>",      "<|im_start|>",     "<|im_end|>",     "<|object_ref_start|>",
      "<|object_ref_end|>", "<|box_start|>",    "<|box_end|>",    "<|quad_start|>",
      "<|quad_end|>",       "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
      "<|image_pad|>",      "<|video_pad|>"};
  return tokens;
}

struct BpeTrainer::Impl {
  struct Word {
    std::string text;
    std::vector<std::int32_t> symbols;
    std::int64_t count = 0;
  };

  BpeTrainerOptions options;
  std::vector<std::string> tokens;  // id -> the token's bytes
  std::unordered_map<std::string, std::int32_t> ids;
  std::array<std::int32_t, 256> byte_ids{};
  std::vector<std::pair<std::int32_t, std::int32_t>> merges;
  std::unordered_map<std::string, std::int64_t> counts;  // word -> occurrences, from add_text
  std::vector<Word> words;                               // sorted by text, from train
  std::optional<Tokenizer> splitter;  // the bytes-only tokenizer: the pre-tokenizer's words

  std::int32_t token_id(const std::string& bytes) {
    const auto [it, added] = ids.emplace(bytes, static_cast<std::int32_t>(tokens.size()));
    if (added) tokens.push_back(bytes);
    return it->second;
  }

  Json to_json() const;
  void merge_all();
};

BpeTrainer::BpeTrainer(const BpeTrainerOptions& options) : impl_(std::make_unique<Impl>()) {
  const std::size_t reserved = 256 + qwen2vl_special_tokens().size();
  if (options.vocab_size <= reserved) {
    throw core::Error("a vocabulary of " + std::to_string(options.vocab_size) +
                      " tokens leaves no room for merges: the 256 bytes and " +
                      std::to_string(qwen2vl_special_tokens().size()) +
                      " special tokens come first; use --vocab-size 1024 or more");
  }
  impl_->options = options;
  // The bytes in the order of their byte-level spelling (code point order), as the reference
  // trainer numbers its alphabet.
  std::array<unsigned char, 256> order{};
  for (int b = 0; b < 256; ++b) order[static_cast<std::size_t>(b)] = static_cast<unsigned char>(b);
  std::sort(order.begin(), order.end(), [](unsigned char x, unsigned char y) {
    return byte_level_spelling(std::string(1, static_cast<char>(x))) <
           byte_level_spelling(std::string(1, static_cast<char>(y)));
  });
  for (const unsigned char b : order) {
    impl_->byte_ids[b] = impl_->token_id(std::string(1, static_cast<char>(b)));
  }
  impl_->splitter.emplace(Tokenizer::from_json(impl_->to_json(), "bytes-only tokenizer"));
}

BpeTrainer::~BpeTrainer() = default;
BpeTrainer::BpeTrainer(BpeTrainer&&) noexcept = default;
BpeTrainer& BpeTrainer::operator=(BpeTrainer&&) noexcept = default;

void BpeTrainer::add_text(std::string_view text) {
  impl_->splitter->pre_tokenize(text,
                                [&](std::string_view word) { ++impl_->counts[std::string(word)]; });
}

void BpeTrainer::train() {
  Impl& m = *impl_;
  m.words.clear();
  m.words.reserve(m.counts.size());
  for (const auto& [text, count] : m.counts) {
    Impl::Word w{text, {}, count};
    for (const char c : text) w.symbols.push_back(m.byte_ids[static_cast<unsigned char>(c)]);
    m.words.push_back(std::move(w));
  }
  std::sort(m.words.begin(), m.words.end(),
            [](const Impl::Word& a, const Impl::Word& b) { return a.text < b.text; });
  m.merge_all();
}

// The pair counts over all words and, per pair, the words that hold it (a word may be listed
// twice or after it lost the pair: merging checks). A merge rewrites only the words listed for
// its pair, moving their pair counts, and queues the pairs it made; a queued count that is stale
// is requeued with the current one when it comes up.
void BpeTrainer::Impl::merge_all() {
  std::unordered_map<PairKey, std::int64_t> pair_counts;
  std::unordered_map<PairKey, std::vector<std::uint32_t>> holders;
  for (std::uint32_t w = 0; w < words.size(); ++w) {
    const Word& word = words[w];
    for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const PairKey key = pair_key(word.symbols[i], word.symbols[i + 1]);
      pair_counts[key] += word.count;
      holders[key].push_back(w);
    }
  }
  std::priority_queue<Candidate> queue;
  for (const auto& [key, count] : pair_counts) {
    if (count >= options.min_count) queue.push({count, key});
  }
  const std::size_t target = options.vocab_size - qwen2vl_special_tokens().size();
  std::vector<std::size_t> last_merge(words.size(), std::numeric_limits<std::size_t>::max());
  std::vector<std::int32_t> merged;
  std::vector<PairKey> grown;
  while (tokens.size() < target && !queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const auto found = pair_counts.find(top.key);
    const std::int64_t count = found == pair_counts.end() ? 0 : found->second;
    if (count != top.count) {
      if (count >= options.min_count) queue.push({count, top.key});
      continue;
    }
    const auto left = static_cast<std::int32_t>(top.key >> 32);
    const auto right = static_cast<std::int32_t>(top.key & 0xFFFFFFFFu);
    const std::int32_t id =
        token_id(tokens[static_cast<std::size_t>(left)] + tokens[static_cast<std::size_t>(right)]);
    const std::size_t merge_index = merges.size();
    merges.emplace_back(left, right);
    grown.clear();
    std::vector<std::uint32_t> holding;
    if (auto node = holders.extract(top.key); !node.empty()) holding = std::move(node.mapped());
    for (const std::uint32_t w : holding) {
      if (last_merge[w] == merge_index) continue;
      last_merge[w] = merge_index;
      Word& word = words[w];
      std::vector<std::int32_t>& s = word.symbols;
      merged.clear();
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
          merged.push_back(id);
          ++i;
        } else {
          merged.push_back(s[i]);
        }
      }
      if (merged.size() == s.size()) continue;  // listed, but the pair has left it
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        pair_counts[pair_key(s[i], s[i + 1])] -= word.count;
      }
      s.swap(merged);
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const PairKey key = pair_key(s[i], s[i + 1]);
        pair_counts[key] += word.count;
        if (s[i] == id || s[i + 1] == id) {
          holders[key].push_back(w);
          grown.push_back(key);
        }
      }
    }
    pair_counts.erase(top.key);
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (const PairKey key : grown) {
      const std::int64_t c = pair_counts[key];
      if (c >= options.min_count) queue.push({c, key});
    }
  }
}

Json BpeTrainer::Impl::to_json() const {
  Json vocab = Json::object();
  for (std::size_t id = 0; id < tokens.size(); ++id) vocab[byte_level_spelling(tokens[id])] = id;
  Json merge_list = Json::array();
  for (const auto& [left, right] : merges) {
    merge_list.push_back(byte_level_spelling(tokens[static_cast<std::size_t>(left)]) + " " +
                         byte_level_spelling(tokens[static_cast<std::size_t>(right)]));
  }
  Json added = Json::array();
  for (std::size_t k = 0; k < qwen2vl_special_tokens().size(); ++k) {
    added.push_back({{"id", tokens.size() + k},
                     {"content", qwen2vl_special_tokens()[k]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  const Json split = {{"type", "Split"},
                      {"pattern", {{"Regex", kQwen2SplitPattern}}},
                      {"behavior", "Isolated"},
                      {"invert", false}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", {{"type", "NFC"}}},
          {"pre_tokenizer",
           {{"type", "Sequence"}, {"pretokenizers", {split, byte_level({{"use_regex", false}})}}}},
          {"post_processor", byte_level({{"use_regex", false}})},
          {"decoder", byte_level({{"use_regex", false}})},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", ""},
            {"end_of_word_suffix", ""},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merge_list}}}};
}

std::size_t BpeTrainer::distinct_words() const {
  return impl_->counts.size();
}
std::size_t BpeTrainer::merges() const {
  return impl_->merges.size();
}
std::size_t BpeTrainer::vocab_size() const {
  return impl_->tokens.size() + qwen2vl_special_tokens().size();
}

std::vector<std::pair<std::string, std::vector<std::int32_t>>> BpeTrainer::segmented_words() const {
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> out;
  out.reserve(impl_->words.size());
  for (const Impl::Word& w : impl_->words) out.emplace_back(w.text, w.symbols);
  return out;
}

Json BpeTrainer::tokenizer_json() const {
  return impl_->to_json();
}

}  // namespace mat::engine
