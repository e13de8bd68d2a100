#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/golden.h"
#include "mat/core/error.h"
#include "mat/engine/qwen2vl_config.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;

void expect_tiny_model(const Qwen2VLConfig& c) {
  EXPECT_EQ(c.text.vocab_size, 512);
  EXPECT_EQ(c.text.hidden_size, 64);
  EXPECT_EQ(c.text.intermediate_size, 128);
  EXPECT_EQ(c.text.num_hidden_layers, 2);
  EXPECT_EQ(c.text.num_attention_heads, 4);
  EXPECT_EQ(c.text.num_key_value_heads, 2);
  EXPECT_EQ(c.text.head_dim, 16);
  EXPECT_EQ(c.text.rope_theta, 1000000.0);
  EXPECT_EQ(c.text.mrope_section, (std::vector<int>{2, 3, 3}));
  EXPECT_EQ(c.text.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.text.tie_word_embeddings);
  EXPECT_EQ(c.vision.depth, 2);
  EXPECT_EQ(c.vision.embed_dim, 32);
  EXPECT_EQ(c.vision.hidden_size, 64);
  EXPECT_EQ(c.vision.num_heads, 2);
  EXPECT_EQ(c.vision.mlp_ratio, 2);
  EXPECT_EQ(c.vision.in_channels, 3);
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_EQ(c.vision.spatial_merge_size, 2);
  EXPECT_EQ(c.vision.temporal_patch_size, 2);
  EXPECT_EQ(c.vision.hidden_act, "quick_gelu");
  EXPECT_EQ(c.image_token_id, 492);
  EXPECT_EQ(c.video_token_id, 493);
  EXPECT_EQ(c.vision_start_token_id, 489);
  EXPECT_EQ(c.vision_end_token_id, 490);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{482}));
}

TEST(Qwen2VLConfigTest, NestedLayoutOfTransformers5) {
  expect_tiny_model(load_qwen2vl_config(testing::golden_dir() / "model/config.json"));
}

TEST(Qwen2VLConfigTest, FlatLayoutOfTheOriginalRelease) {
  expect_tiny_model(load_qwen2vl_config(testing::golden_dir() / "model_alt/config.json"));
}

TEST(Qwen2VLConfigTest, OtherArchitecturesAreRefusedByName) {
  core::Json json = testing::golden_json("model/config.json");
  json["model_type"] = "qwen2_5_vl";
  json["architectures"] = {"Qwen2_5_VLForConditionalGeneration"};
  EXPECT_THAT(
      [&] { parse_qwen2vl_config(json, "x/config.json"); },
      ::testing::ThrowsMessage<core::Error>(HasSubstr(
          "config 'x/config.json': describes a \"qwen2_5_vl\" (Qwen2_5_VLForConditionalGeneration) "
          "model; mat's engine runs Qwen2-VL")));
  EXPECT_THAT(
      [&] {
        parse_qwen2vl_config(core::Json{{"model_type", "llama"}}, "c.json");
      },
      ::testing::ThrowsMessage<core::Error>(HasSubstr("\"llama\"")));
}

TEST(Qwen2VLConfigTest, InconsistentSizesAreRefused) {
  core::Json json = testing::golden_json("model/config.json");
  json["text_config"]["rope_parameters"]["mrope_section"] = {2, 3, 4};
  EXPECT_THAT([&] { parse_qwen2vl_config(json, "c.json"); },
              ::testing::ThrowsMessage<core::Error>(
                  HasSubstr("mrope_section sums to 9 but head_dim / 2 is 8")));
  json = testing::golden_json("model/config.json");
  json["text_config"]["num_key_value_heads"] = 3;
  EXPECT_THAT([&] { parse_qwen2vl_config(json, "c.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("num_key_value_heads (3)")));
  json = testing::golden_json("model/config.json");
  json["text_config"].erase("hidden_size");
  EXPECT_THAT([&] { parse_qwen2vl_config(json, "c.json"); },
              ::testing::ThrowsMessage<core::Error>(
                  HasSubstr("missing the integer field \"hidden_size\"")));
  json = testing::golden_json("model/config.json");
  json["text_config"]["vocab_size"] = "many";
  EXPECT_THAT([&] { parse_qwen2vl_config(json, "c.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("\"vocab_size\" is not an integer")));
}

TEST(ImageProcessorConfigTest, ReadsPreprocessorConfig) {
  const ImageProcessorConfig c =
      load_image_processor_config(testing::golden_dir() / "model/preprocessor_config.json");
  EXPECT_EQ(c.min_pixels, 56 * 56);
  EXPECT_EQ(c.max_pixels, 28 * 28 * 16);
  EXPECT_EQ(c.patch_size, 14);
  EXPECT_EQ(c.merge_size, 2);
  EXPECT_EQ(c.temporal_patch_size, 2);
  EXPECT_EQ(c.image_mean[1], 0.4578275);
  EXPECT_EQ(c.image_std[2], 0.27577711);
  EXPECT_EQ(c.rescale_factor, 0.00392156862745098);
}

TEST(ImageProcessorConfigTest, ReadsTheImageProcessorInsideProcessorConfig) {
  const core::Json processor = testing::golden_json("model/processor_config.json");
  const ImageProcessorConfig c =
      parse_image_processor_config(processor["image_processor"], "processor_config.json");
  EXPECT_EQ(c.max_pixels, 28 * 28 * 16);
}

TEST(ImageProcessorConfigTest, OlderLayoutsAndRefusals) {
  const core::Json old{{"image_processor_type", "Qwen2VLImageProcessor"},
                       {"min_pixels", 3136},
                       {"max_pixels", 12845056},
                       {"size", {{"min_pixels", 1}, {"max_pixels", 2}}}};
  const ImageProcessorConfig c = parse_image_processor_config(old, "p.json");
  EXPECT_EQ(c.min_pixels, 3136);
  EXPECT_EQ(c.max_pixels, 12845056);
  EXPECT_THAT(
      [&] {
        parse_image_processor_config(core::Json{{"image_processor_type", "CLIPImageProcessor"}},
                                     "p.json");
      },
      ::testing::ThrowsMessage<core::Error>(HasSubstr("CLIPImageProcessor")));
  EXPECT_THAT(
      [&] {
        parse_image_processor_config(core::Json{{"resample", 2}}, "p.json");
      },
      ::testing::ThrowsMessage<core::Error>(HasSubstr("only 3 (bicubic)")));
  EXPECT_THAT([&] { load_image_processor_config(testing::golden_dir() / "absent.json"); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("absent.json")));
}

}  // namespace
}  // namespace mat::engine
