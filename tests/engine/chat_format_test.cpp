#include "mat/engine/chat_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/golden.h"
#include "mat/core/error.h"
#include "mat/engine/image_processor.h"
#include "mat/engine/mrope.h"
#include "mat/engine/qwen2vl_config.h"
#include "mat/engine/safetensors.h"
#include "mat/engine/tokenizer.h"

namespace mat::engine {
namespace {

using ::testing::HasSubstr;

llm::Role role_of(const std::string& name) {
  if (name == "system") return llm::Role::kSystem;
  if (name == "assistant") return llm::Role::kAssistant;
  return llm::Role::kUser;
}

// The fixture's messages (OpenAI/HF style) as mat's chat messages.
std::vector<llm::ChatMessage> messages_of(const core::Json& json) {
  std::vector<llm::ChatMessage> out;
  for (const core::Json& m : json) {
    llm::ChatMessage message;
    message.role = role_of(m["role"].get<std::string>());
    if (m["content"].is_string()) {
      message.parts.push_back(llm::ContentPart::from_text(m["content"].get<std::string>()));
    } else {
      for (const core::Json& part : m["content"]) {
        if (part["type"] == "image") {
          message.parts.push_back(
              llm::ContentPart::from_image(std::make_shared<core::EncodedImage>()));
        } else {
          message.parts.push_back(llm::ContentPart::from_text(part["text"].get<std::string>()));
        }
      }
    }
    out.push_back(std::move(message));
  }
  return out;
}

struct Golden {
  Tokenizer tokenizer = Tokenizer::load(testing::golden_dir() / "model/tokenizer.json");
  Qwen2VLConfig config = load_qwen2vl_config(testing::golden_dir() / "model/config.json");
  ImageProcessorConfig images =
      load_image_processor_config(testing::golden_dir() / "model/preprocessor_config.json");
};

const Golden& golden() {
  static const Golden g;
  return g;
}

TEST(ChatFormatGolden, EveryPromptRendersTokenisesAndPositionsLikeTheReference) {
  const core::Json prompts = testing::golden_json("prompts/prompts.json");
  ASSERT_EQ(prompts.size(), 5u);
  for (const core::Json& prompt : prompts) {
    const std::string name = prompt["name"].get<std::string>();
    SCOPED_TRACE(name);
    // 1. The chat text, exactly as the template renders it.
    const std::string text =
        render_chat(messages_of(prompt["messages"]), prompt["add_generation_prompt"].get<bool>());
    EXPECT_EQ(text, prompt["text"].get<std::string>());

    // 2. Each image through the processor: grids exactly.
    std::vector<std::int64_t> counts;
    std::vector<GridThw> grids;
    for (const core::Json& file : prompt["images"]) {
      const std::string path = file.get<std::string>();
      const ProcessedImage p = preprocess_image(
          decode_image(core::read_file(testing::golden_dir() / path), path), golden().images);
      counts.push_back(image_token_count(p, golden().images.merge_size));
      grids.push_back({p.grid_t, p.grid_h, p.grid_w});
    }
    ASSERT_EQ(grids.size(), prompt["image_grid_thw"].size());
    for (std::size_t i = 0; i < grids.size(); ++i) {
      EXPECT_EQ((std::vector<std::int64_t>{grids[i].t, grids[i].h, grids[i].w}),
                prompt["image_grid_thw"][i].get<std::vector<std::int64_t>>());
    }

    // 3. The ids of the expanded text, exactly.
    const std::vector<std::int32_t> ids =
        golden().tokenizer.encode(expand_image_pads(text, counts));
    EXPECT_EQ(ids, prompt["input_ids"].get<std::vector<std::int32_t>>());

    // 4. The 3D positions and the delta for generated tokens, exactly.
    const MropePositions pos = mrope_positions(ids, golden().config.image_token_id, grids,
                                               golden().config.vision.spatial_merge_size);
    EXPECT_EQ(pos.temporal, prompt["position_ids"][0].get<std::vector<std::int64_t>>());
    EXPECT_EQ(pos.height, prompt["position_ids"][1].get<std::vector<std::int64_t>>());
    EXPECT_EQ(pos.width, prompt["position_ids"][2].get<std::vector<std::int64_t>>());
    EXPECT_EQ(pos.rope_delta, prompt["rope_delta"].get<std::int64_t>());

    // The tensors file agrees with the JSON (the later engine tests read the tensors).
    const SafetensorsFile t =
        SafetensorsFile::open(testing::golden_dir() / prompt["tensors"].get<std::string>());
    const std::vector<std::int64_t> tensor_ids = t.to_i64("input_ids");
    EXPECT_EQ(std::vector<std::int64_t>(ids.begin(), ids.end()), tensor_ids);
  }
}

TEST(ChatFormat, DefaultSystemPromptOnlyWhenTheFirstMessageIsNotSystem) {
  const std::string with = render_chat({llm::ChatMessage::text(llm::Role::kSystem, "S"),
                                        llm::ChatMessage::text(llm::Role::kUser, "U")},
                                       false);
  EXPECT_EQ(with, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n");
  const std::string without =
      render_chat({llm::ChatMessage::text(llm::Role::kAssistant, "A")}, true);
  EXPECT_EQ(without,
            "<|im_start|>system\nYou are a helpful "
            "assistant.<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatFormat, ImagePadsExpandInOrderAndCountsMustMatch) {
  EXPECT_EQ(expand_image_pads("a<|image_pad|>b<|image_pad|>", {2, 1}),
            "a<|image_pad|><|image_pad|>b<|image_pad|>");
  EXPECT_THAT([] { expand_image_pads("a<|image_pad|>", {}); },
              ::testing::ThrowsMessage<core::Error>(
                  HasSubstr("more <|image_pad|> placeholders than the 0 image(s)")));
  EXPECT_THAT([] { expand_image_pads("a", {3}); },
              ::testing::ThrowsMessage<core::Error>(
                  HasSubstr("0 <|image_pad|> placeholder(s) but 1 image(s)")));
}

TEST(Mrope, TextImageTextLayout) {
  // 2 text tokens, an image of 4x6 patches (2x3 merged), 2 text tokens.
  const std::vector<std::int32_t> ids{1, 2, 9, 9, 9, 9, 9, 9, 3, 4};
  const MropePositions p = mrope_positions(ids, 9, {{1, 4, 6}}, 2);
  EXPECT_EQ(p.temporal, (std::vector<std::int64_t>{0, 1, 2, 2, 2, 2, 2, 2, 5, 6}));
  EXPECT_EQ(p.height, (std::vector<std::int64_t>{0, 1, 2, 2, 2, 3, 3, 3, 5, 6}));
  EXPECT_EQ(p.width, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 2, 3, 4, 5, 6}));
  EXPECT_EQ(p.rope_delta, 7 - 10);
  // Two images back to back are told apart by their grids.
  const MropePositions two =
      mrope_positions(std::vector<std::int32_t>{9, 9, 9, 9, 9}, 9, {{1, 2, 2}, {1, 4, 4}}, 2);
  EXPECT_EQ(two.height, (std::vector<std::int64_t>{0, 1, 1, 2, 2}));
  EXPECT_EQ(two.width, (std::vector<std::int64_t>{0, 1, 2, 1, 2}));
  EXPECT_THAT(
      [&] {
        mrope_positions(ids, 9, {{1, 4, 8}}, 2);
      },
      ::testing::ThrowsMessage<core::Error>(
          HasSubstr("has 6 placeholder tokens in the prompt but its grid needs 8")));
  EXPECT_THAT(
      [&] {
        mrope_positions(ids, 9, {{1, 4, 6}, {1, 2, 2}}, 2);
      },
      ::testing::ThrowsMessage<core::Error>(HasSubstr("holds 1 image(s) but 2 grid(s)")));
  EXPECT_THAT([&] { mrope_positions(ids, 9, {}, 2); },
              ::testing::ThrowsMessage<core::Error>(HasSubstr("more image tokens")));
}

}  // namespace
}  // namespace mat::engine
