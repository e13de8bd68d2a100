#include "mat/engine/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "engine/golden.h"
#include "mat/core/error.h"
#include "mat/engine/utf8.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;

const Tokenizer& golden_tokenizer() {
  static const Tokenizer tok = Tokenizer::load(testing::golden_dir() / "model/tokenizer.json");
  return tok;
}

std::vector<std::int32_t> ids_of(const core::Json& array) {
  std::vector<std::int32_t> out;
  for (const core::Json& v : array) out.push_back(v.get<std::int32_t>());
  return out;
}

TEST(TokenizerGolden, EveryTableStringGetsTheReferenceIds) {
  const core::Json table = testing::golden_json("tokenizer_table.json");
  ASSERT_GE(table.size(), 300u);
  int mismatches = 0;
  for (const core::Json& row : table) {
    const std::string text = row["text"].get<std::string>();
    const std::vector<std::int32_t> expected = ids_of(row["ids"]);
    const std::vector<std::int32_t> got = golden_tokenizer().encode(text);
    if (got != expected && ++mismatches <= 10) {
      ADD_FAILURE() << "ids differ for " << row["text"].dump() << ": expected " << row["ids"].dump()
                    << ", got " << core::Json(got).dump();
    }
    // Token strings too (they name the byte-level symbols).
    for (std::size_t i = 0; i < got.size() && got == expected; ++i) {
      EXPECT_EQ(golden_tokenizer().id_to_token(got[i]), row["tokens"][i].get<std::string>());
    }
    EXPECT_EQ(golden_tokenizer().decode(expected), row["decoded"].get<std::string>())
        << row["text"].dump();
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(TokenizerGolden, SpecialTokens) {
  const Tokenizer& tok = golden_tokenizer();
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 480);
  EXPECT_EQ(tok.token_to_id("<|im_start|>"), 481);
  EXPECT_EQ(tok.token_to_id("<|image_pad|>"), 492);
  EXPECT_TRUE(tok.is_special(492));
  EXPECT_FALSE(tok.is_special(65));
  EXPECT_EQ(tok.vocab_size(), 494u);
  const std::vector<std::int32_t> ids = tok.encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(ids.front(), 481);
  EXPECT_EQ(ids.back(), 482);
  EXPECT_EQ(tok.decode(ids, /*skip_special_tokens=*/true), "user\nhi");
  // Ids past the tokenizer (the embedding is padded to 512 rows) decode to nothing.
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{500, 65, -1}), "b");
}

// Random valid UTF-8 from a mix of scripts (combining marks and compatibility characters
// included, so NFC changes some of them).
std::string random_text(std::mt19937& rng) {
  static const std::vector<std::pair<char32_t, char32_t>> ranges{
      {0x20, 0x7E},     {0x09, 0x0D},     {0xA0, 0xFF},     {0x370, 0x3FF},     {0x400, 0x4FF},
      {0x4E00, 0x4FFF}, {0x3040, 0x30FF}, {0xAC00, 0xAD00}, {0x1F600, 0x1F64F}, {0x2000, 0x206F},
      {0x0, 0x1F},      {0x300, 0x36F},   {0x1100, 0x11FF}};
  std::string out;
  const int n = std::uniform_int_distribution<int>(0, 60)(rng);
  for (int i = 0; i < n; ++i) {
    const auto& [lo, hi] =
        ranges[std::uniform_int_distribution<std::size_t>(0, ranges.size() - 1)(rng)];
    append_utf8(out,
                static_cast<char32_t>(std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng)));
  }
  return out;
}

TEST(TokenizerRoundTrip, ArbitraryUtf8DecodesToItsNfcForm) {
  std::mt19937 rng(7);
  int changed_by_nfc = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = random_text(rng);
    const std::string normalized = golden_tokenizer().normalize(text);
    changed_by_nfc += normalized != text;
    EXPECT_EQ(golden_tokenizer().decode(golden_tokenizer().encode(text)), normalized)
        << core::Json(text).dump();
  }
  EXPECT_GT(changed_by_nfc, 10) << "the generator should exercise the normaliser";
  // Already-normalised text comes back unchanged.
  const std::string nfc = "caf\u00e9 \uac00 \u30ac";
  EXPECT_EQ(golden_tokenizer().normalize("cafe\u0301 \u1100\u1161 \u30ab\u3099"), nfc);
  EXPECT_EQ(golden_tokenizer().decode(golden_tokenizer().encode(nfc)), nfc);
}

TEST(TokenizerRoundTrip, InvalidUtf8BecomesReplacementCharacters) {
  const std::string bad = std::string("ok") + '\xC3' + "x" + '\xFF' + '\xE2' + '\x82';
  EXPECT_EQ(golden_tokenizer().decode(golden_tokenizer().encode(bad)),
            "ok\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), "\xEF\xBF\xBD");  // one truncated sequence, one U+FFFD
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST(TokenizerRoundTrip, LongInputs) {
  const std::string spaces(100000, ' ');
  EXPECT_EQ(golden_tokenizer().decode(golden_tokenizer().encode(spaces + "x" + spaces)),
            spaces + "x" + spaces);
  const std::string word(20000, 'a');
  EXPECT_EQ(golden_tokenizer().decode(golden_tokenizer().encode(word)), word);
}

TEST(TokenizerLoad, MissingFileNamesItAndSaysWhatIsNeeded) {
  EXPECT_THAT([] { Tokenizer::load("/nonexistent/model/tokenizer.json"); },
              ::testing::ThrowsMessage<core::Error>(AllOf(
                  HasSubstr("/nonexistent/model/tokenizer.json"), HasSubstr("does not exist"))));
}

TEST(TokenizerLoad, UnsupportedComponentsAreNamed) {
  core::Json json = testing::golden_json("model/tokenizer.json");
  json["model"]["type"] = "Unigram";
  EXPECT_THAT([&] { Tokenizer::from_json(json, "t.json"); },
              ::testing::ThrowsMessage<core::Error>(
                  HasSubstr("tokenizer 't.json': has a \"Unigram\" model")));
  json = testing::golden_json("model/tokenizer.json");
  json["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_THAT([&] { Tokenizer::from_json(json, "t.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("normalizer \"Lowercase\"")));
  json = testing::golden_json("model/tokenizer.json");
  json["model"]["merges"].push_back("zzz qqq");
  EXPECT_THAT([&] { Tokenizer::from_json(json, "t.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("missing from the vocab")));
  json = testing::golden_json("model/tokenizer.json");
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  EXPECT_THAT([&] { Tokenizer::from_json(json, "t.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("does not compile")));
}

TEST(TokenizerLoad, Gpt2StyleByteLevelAndIgnoreMerges) {
  core::Json json = testing::golden_json("model/tokenizer.json");
  json["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const Tokenizer gpt2 = Tokenizer::from_json(json, "gpt2");
  EXPECT_EQ(gpt2.decode(gpt2.encode("Hello world 123")), "Hello world 123");
  json = testing::golden_json("model/tokenizer.json");
  json["model"]["ignore_merges"] = true;
  json["model"]["vocab"]["hello"] = 9999;  // a whole word in the vocab wins over merges
  const Tokenizer whole = Tokenizer::from_json(json, "t");
  EXPECT_EQ(whole.encode("hello"), (std::vector<std::int32_t>{9999}));
}

}  // namespace
}  // namespace mat::engine
