// The BPE tokenizer trainer and the corpus reader: deterministic vocabularies, files mat's
// Tokenizer loads with the training segmentation, special tokens as single ids, lossless round
// trips on text the trainer never saw.
#include "mat/engine/tokenizer_trainer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"
#include "mat/engine/text_corpus.h"
#include "mat/engine/tokenizer.h"

namespace mat::engine {
namespace {

namespace fs = std::filesystem;

// Code and prose from a seeded generator (words of one to three syllables): the same text on
// every run, with enough distinct words to fill a small vocabulary.
std::string generated_text(unsigned seed, int lines) {
  static const std::vector<std::string> syllables = {"ka", "to", "ri", "mu",  "se",  "lo",  "na",
                                                     "pe", "di", "vu", "sha", "gro", "ble", "tin"};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, syllables.size() - 1);
  std::uniform_int_distribution<int> length(1, 3);
  std::uniform_int_distribution<int> number(0, 999);
  auto word = [&] {
    std::string w;
    for (int n = length(rng); n > 0; --n) w += syllables[pick(rng)];
    return w;
  };
  std::string text;
  for (int i = 0; i < lines; ++i) {
    if (i % 3 == 0) {
      text += "def " + word() + "_" + word() + "(x):\n    return x * " +
              std::to_string(number(rng)) + "\n";
    } else {
      text += "The " + word() + " of " + word() + " is " + std::to_string(number(rng)) + ". ";
      text += "Print the " + word() + "'s " + word() + "!\n";
    }
  }
  return text;
}

BpeTrainer trained(const std::vector<std::string>& texts, std::size_t vocab) {
  BpeTrainer trainer({vocab, 2});
  for (const std::string& t : texts) trainer.add_text(t);
  trainer.train();
  return trainer;
}

TEST(TokenizerTrainer, SameTextsInAnyOrderGiveTheSameFile) {
  const std::string a = generated_text(1, 300);
  const std::string b = generated_text(2, 300);
  const core::Json first = trained({a, b}, 600).tokenizer_json();
  const core::Json second = trained({b, a}, 600).tokenizer_json();
  EXPECT_EQ(first.dump(), second.dump());
  EXPECT_NE(first.dump(), trained({a}, 600).tokenizer_json().dump());
}

TEST(TokenizerTrainer, FillsTheVocabularyWithSpecialTokensLast) {
  const BpeTrainer trainer = trained({generated_text(3, 2000)}, 600);
  EXPECT_EQ(trainer.vocab_size(), 600u);
  const Tokenizer tok = Tokenizer::from_json(trainer.tokenizer_json(), "trained");
  EXPECT_EQ(tok.vocab_size(), 600u);
  const auto& specials = qwen2vl_special_tokens();
  for (std::size_t k = 0; k < specials.size(); ++k) {
    const auto id = tok.token_to_id(specials[k]);
    ASSERT_TRUE(id) << specials[k];
    EXPECT_EQ(static_cast<std::size_t>(*id), 600 - specials.size() + k) << specials[k];
    EXPECT_TRUE(tok.is_special(*id));
  }
}

TEST(TokenizerTrainer, SpecialTokensAreSingleIds) {
  const Tokenizer tok =
      Tokenizer::from_json(trained({generated_text(4, 500)}, 600).tokenizer_json(), "trained");
  for (const std::string& special : qwen2vl_special_tokens()) {
    const std::vector<std::int32_t> ids = tok.encode("a" + special + "b");
    ASSERT_EQ(ids.size(), 3u) << special;
    EXPECT_EQ(ids[1], *tok.token_to_id(special));
  }
  const std::vector<std::int32_t> chat = tok.encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(chat.front(), *tok.token_to_id("<|im_start|>"));
  EXPECT_EQ(chat.back(), *tok.token_to_id("<|im_end|>"));
}

TEST(TokenizerTrainer, MergesReproduceTheTrainingSegmentation) {
  const BpeTrainer trainer = trained({generated_text(5, 1500)}, 800);
  ASSERT_GT(trainer.merges(), 400u);
  const Tokenizer tok = Tokenizer::from_json(trainer.tokenizer_json(), "trained");
  std::size_t checked = 0;
  std::size_t multi_token = 0;
  for (const auto& [word, ids] : trainer.segmented_words()) {
    EXPECT_EQ(tok.encode(word), ids) << "word '" << word << "'";
    ++checked;
    multi_token += ids.size() < word.size();
  }
  EXPECT_GT(checked, 50u);
  EXPECT_GT(multi_token, 20u);  // merges were really applied
}

TEST(TokenizerTrainer, RoundTripsUnseenText) {
  const Tokenizer tok =
      Tokenizer::from_json(trained({generated_text(6, 800)}, 700).tokenizer_json(), "trained");
  // Unseen words, other scripts, emoji, control bytes and a decomposed é (NFC composes it).
  const std::string unseen =
      "import numpy as np\nZebra quokka 漢字 مرحبا 🙂\t\r\n  x = {'k': [1, 2.5e-3]}\x01 "
      "e\u0301";
  const std::vector<std::int32_t> ids = tok.encode(unseen);
  EXPECT_EQ(tok.decode(ids), tok.normalize(unseen));
  EXPECT_NE(tok.normalize(unseen), unseen);
  // Frequent training words are single tokens.
  EXPECT_EQ(tok.encode(" return").size(), 1u);
}

TEST(TokenizerTrainer, RefusesAVocabularyWithoutRoomForMerges) {
  EXPECT_THROW(BpeTrainer({270, 2}), core::Error);
}

TEST(TextCorpus, ReadsTextFilesOnlyWithinTheBudget) {
  const core::TempDir dir("corpus");
  fs::create_directories(dir.path() / "sub");
  std::ofstream(dir.path() / "a.py") << generated_text(7, 50);
  std::ofstream(dir.path() / "sub" / "b.txt") << generated_text(8, 50);
  std::ofstream(dir.path() / "blob.bin", std::ios::binary) << std::string(
      "\x7f"
      "ELF\0\0\x01",
      7);
  std::ofstream(dir.path() / "latin1.txt", std::ios::binary) << "caf\xe9\n";
  std::vector<std::string> seen;
  const CorpusStats all = for_each_corpus_text(
      {dir.path()}, {}, [&](const fs::path& p, std::string_view) { seen.push_back(p.string()); });
  EXPECT_EQ(all.files, 2u);
  EXPECT_EQ(all.skipped, 2u);
  std::vector<std::string> again;
  for_each_corpus_text({dir.path()}, {},
                       [&](const fs::path& p, std::string_view) { again.push_back(p.string()); });
  EXPECT_EQ(seen, again);

  CorpusOptions small;
  small.max_bytes = 100;
  std::size_t bytes = 0;
  const CorpusStats cut =
      for_each_corpus_text({dir.path()}, small, [&](const fs::path&, std::string_view text) {
        bytes += text.size();
        EXPECT_EQ(text.back(), '\n');  // cut at a line break
      });
  EXPECT_LE(bytes, 100u);
  EXPECT_EQ(cut.bytes, bytes);
  EXPECT_THROW(for_each_corpus_text({dir.path() / "missing"}, {}, {}), core::Error);

  // A small path given after a large one is read first, whole.
  const core::TempDir extra("corpus-extra");
  std::ofstream(extra.path() / "prompt.txt") << "You are a helpful agent.\n";
  bool prompt_read = false;
  for_each_corpus_text({dir.path(), extra.path() / "prompt.txt"}, small,
                       [&](const fs::path& p, std::string_view) {
                         prompt_read = prompt_read || p.filename() == "prompt.txt";
                       });
  EXPECT_TRUE(prompt_read);
}

// The loop's corpus lies in whatever folder `make run` is given: where it lies must not change the
// order of its texts, or the tokenizer and the pretrained base would differ from folder to folder.
TEST(TextCorpus, TheSameFilesInAnotherFolderComeInTheSameOrder) {
  const core::TempDir near("c");
  const core::TempDir far("a-corpus-in-a-folder-with-a-much-longer-name");
  for (const core::TempDir* dir : {&near, &far}) {
    fs::create_directories(dir->path() / "docs");
    for (unsigned i = 0; i < 12; ++i) {
      std::ofstream(dir->path() / (i % 2 ? "docs" : ".") / ("f" + std::to_string(i) + ".txt"))
          << generated_text(i, 3);
    }
  }
  auto texts_of = [](const fs::path& folder) {
    std::vector<std::string> texts;
    for_each_corpus_text({folder}, {},
                         [&](const fs::path&, std::string_view text) { texts.emplace_back(text); });
    return texts;
  };
  const std::vector<std::string> texts = texts_of(near.path());
  ASSERT_EQ(texts.size(), 12u);
  EXPECT_EQ(texts, texts_of(far.path()));
}

}  // namespace
}  // namespace mat::engine
