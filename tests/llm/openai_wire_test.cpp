#include "mat/llm/openai_wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mat::llm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::shared_ptr<const core::EncodedImage> tiny_png() {
  auto image = std::make_shared<core::EncodedImage>();
  image->mime_type = "image/png";
  image->width = 1;
  image->height = 1;
  image->base64 = "iVBORw0KGgo=";
  return image;
}

TEST(ChatRequestBody, TextOnlyMessagesHaveStringContent) {
  const core::Json body = build_chat_request_body(
      "qwen2.5-vl",
      {ChatMessage::text(Role::kSystem, "Be brief."), ChatMessage::text(Role::kUser, "Hi")}, {},
      false);
  EXPECT_EQ(body["model"], "qwen2.5-vl");
  EXPECT_EQ(body["messages"], core::Json::parse(R"([{"role": "system", "content": "Be brief."},
                                                    {"role": "user", "content": "Hi"}])"));
  EXPECT_EQ(body["stream"], false);
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST(ChatRequestBody, MixedPartsBecomeTextAndImageUrlParts) {
  ChatMessage message{
      Role::kUser, {ContentPart::from_text("What is this?"), ContentPart::from_image(tiny_png())}};
  const core::Json body = build_chat_request_body("m", {message}, {}, false);
  EXPECT_EQ(body["messages"][0]["content"], core::Json::parse(R"([
      {"type": "text", "text": "What is this?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}])"));
}

TEST(ChatRequestBody, SerialisedBodyEqualsTheJsonBodyWhateverTheTextHolds) {
  auto jpeg = std::make_shared<core::EncodedImage>();
  jpeg->mime_type = "image/jpeg";
  jpeg->base64 = std::string(5000, 'Q') + "==";
  // Text that imitates the splice placeholders must come through untouched.
  const std::vector<ChatMessage> messages = {
      ChatMessage::text(Role::kSystem, "mat-image-placeholder-0 \"mat-image-placeholder-1\""),
      {Role::kUser,
       {ContentPart::from_text("two:"), ContentPart::from_image(tiny_png()),
        ContentPart::from_image(jpeg)}},
      ChatMessage::text(Role::kAssistant, "ok"),
      {Role::kUser, {ContentPart::from_image(tiny_png()), ContentPart::from_text("again")}}};
  GenerationParams params;
  params.stop = {"<end_action>"};
  const std::string text = serialize_chat_request("m", messages, params, true);
  EXPECT_EQ(core::Json::parse(text), build_chat_request_body("m", messages, params, true));
}

TEST(ChatRequestBody, ASingleImagePartIsStillAnArray) {
  const core::Json body = build_chat_request_body(
      "m", {{Role::kUser, {ContentPart::from_image(tiny_png())}}}, {}, false);
  const core::Json& content = body["messages"][0]["content"];
  ASSERT_TRUE(content.is_array());
  ASSERT_THAT(content, SizeIs(1));
  EXPECT_EQ(content[0]["type"], "image_url");
}

TEST(ChatRequestBody, OptionalParametersAppearOnlyWhenSet) {
  const std::vector<ChatMessage> messages = {ChatMessage::text(Role::kUser, "Hi")};
  const core::Json bare = build_chat_request_body("m", messages, {}, false);
  for (const char* key : {"stop", "temperature", "top_p", "max_tokens", "seed"}) {
    EXPECT_FALSE(bare.contains(key)) << key;
  }

  GenerationParams params;
  params.stop = {"Observation:", "<end_code>"};
  params.temperature = 0.2;
  params.top_p = 0.9;
  params.max_tokens = 256;
  params.seed = 7;
  const core::Json full = build_chat_request_body("m", messages, params, false);
  EXPECT_EQ(full["stop"], core::Json::parse(R"(["Observation:", "<end_code>"])"));
  EXPECT_EQ(full["temperature"], 0.2);
  EXPECT_EQ(full["top_p"], 0.9);
  EXPECT_EQ(full["max_tokens"], 256);
  EXPECT_EQ(full["seed"], 7);
}

TEST(ChatRequestBody, StreamingAsksForUsage) {
  const core::Json body =
      build_chat_request_body("m", {ChatMessage::text(Role::kUser, "Hi")}, {}, true);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
}

TEST(ChatCompletion, ReadsTextFinishReasonAndUsage) {
  const ChatResult result = parse_chat_completion(R"({
      "choices": [{"index": 0, "message": {"role": "assistant", "content": "42"},
                   "finish_reason": "length"}],
      "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}})");
  EXPECT_EQ(result.text, "42");
  EXPECT_EQ(result.finish_reason, "length");
  EXPECT_EQ(result.usage.prompt_tokens, 12);
  EXPECT_EQ(result.usage.completion_tokens, 3);
}

TEST(ChatCompletion, MissingUsageAndNullContentReadAsZeroAndEmpty) {
  const ChatResult result = parse_chat_completion(
      R"({"choices": [{"message": {"content": null}, "finish_reason": null}], "usage": null})");
  EXPECT_EQ(result.text, "");
  EXPECT_EQ(result.finish_reason, "");
  EXPECT_EQ(result.usage.prompt_tokens, 0);
  EXPECT_EQ(result.usage.completion_tokens, 0);
}

TEST(ChatCompletion, GarbageIsMalformedAndQuoted) {
  try {
    parse_chat_completion("<html>Bad Gateway</html>");
    FAIL() << "expected MalformedResponse";
  } catch (const MalformedResponse& error) {
    EXPECT_THAT(error.what(), HasSubstr("not JSON"));
    EXPECT_THAT(error.what(), HasSubstr("<html>Bad Gateway</html>"));
  }
}

TEST(ChatCompletion, JsonWithoutChoicesIsMalformed) {
  EXPECT_THROW(parse_chat_completion(R"({"choices": []})"), MalformedResponse);
  EXPECT_THROW(parse_chat_completion(R"([1, 2])"), MalformedResponse);
  EXPECT_THROW(parse_chat_completion(""), MalformedResponse);
}

TEST(ChatCompletion, AnErrorBodyIsReportedWithItsMessage) {
  try {
    parse_chat_completion(R"({"error": {"message": "context too long"}})");
    FAIL() << "expected MalformedResponse";
  } catch (const MalformedResponse& error) {
    EXPECT_THAT(error.what(), HasSubstr("context too long"));
  }
}

TEST(ServerErrorMessage, ReadsTheCommonErrorShapes) {
  EXPECT_EQ(server_error_message(R"({"error": {"message": "bad key", "type": "x"}})"), "bad key");
  EXPECT_EQ(server_error_message(R"({"error": "model not loaded"})"), "model not loaded");
  EXPECT_EQ(server_error_message(R"({"detail": "Not Found"})"), "Not Found");
  EXPECT_EQ(server_error_message(R"({"message": "busy"})"), "busy");
  EXPECT_EQ(server_error_message("upstream\nconnect error"), "upstream connect error");
  EXPECT_EQ(server_error_message(""), "");
}

TEST(Excerpt, CutsLongTextAndFlattensLines) {
  EXPECT_EQ(excerpt("a\nb", 10), "a b");
  EXPECT_EQ(excerpt(std::string(300, 'x'), 5), "xxxxx...");
}

TEST(Excerpt, IsValidUtf8EvenWhenCutInsideACharacterOrGivenBinary) {
  EXPECT_EQ(excerpt("\xC3\xA9t\xC3\xA9", 4), "\xC3\xA9t\xEF\xBF\xBD...");  // "été" cut in the é
  EXPECT_NO_THROW(core::Json(excerpt("\xFF\xFE binary")).dump());
}

// A stream as OpenAI sends it: role chunk, content chunks, finish chunk, usage chunk, [DONE].
constexpr std::string_view kStream =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo!\"},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n";

TEST(ChatStreamReader, DeliversEachPieceAndAssemblesTheResult) {
  std::vector<std::string> pieces;
  ChatStreamReader reader([&pieces](std::string_view piece) { pieces.emplace_back(piece); });
  bool more = true;
  for (std::size_t i = 0; i < kStream.size() && more; ++i) more = reader.feed(kStream.substr(i, 1));
  EXPECT_FALSE(more) << "[DONE] should end the stream";
  EXPECT_TRUE(reader.delivered_text());
  EXPECT_THAT(pieces, ElementsAre("Hel", "lo!"));
  const ChatResult result = reader.finish();
  EXPECT_EQ(result.text, "Hello!");
  EXPECT_EQ(result.finish_reason, "stop");
  EXPECT_EQ(result.usage.prompt_tokens, 9);
  EXPECT_EQ(result.usage.completion_tokens, 2);
}

TEST(ChatStreamReader, WithoutACallbackNothingCountsAsDelivered) {
  ChatStreamReader reader({});
  reader.feed(kStream);
  EXPECT_FALSE(reader.delivered_text());
  EXPECT_EQ(reader.finish().text, "Hello!");
}

TEST(ChatStreamReader, StreamWithoutUsageLeavesZeros) {
  ChatStreamReader reader({});
  reader.feed(
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\n");
  const ChatResult result = reader.finish();  // no [DONE] either: accepted
  EXPECT_EQ(result.text, "a");
  EXPECT_EQ(result.usage.prompt_tokens, 0);
  EXPECT_EQ(result.usage.completion_tokens, 0);
}

TEST(ChatStreamReader, ReadsAWholeCompletionFromAServerThatDoesNotStream) {
  std::vector<std::string> pieces;
  ChatStreamReader reader([&pieces](std::string_view piece) { pieces.emplace_back(piece); });
  reader.feed(R"({"choices": [{"message": {"content": "whole"}, "finish_reason": "stop"}]})");
  EXPECT_EQ(reader.finish().text, "whole");
  EXPECT_THAT(pieces, ElementsAre("whole"));
}

TEST(ChatStreamReader, AnErrorEventEndsTheStreamWithItsMessage) {
  ChatStreamReader reader({});
  EXPECT_FALSE(reader.feed("data: {\"error\": {\"message\": \"out of memory\"}}\n\n"));
  EXPECT_EQ(reader.server_error(), "out of memory");
}

TEST(ChatStreamReader, AChunkThatIsNotJsonIsMalformed) {
  ChatStreamReader reader({});
  EXPECT_THROW(reader.feed("data: {not json\n\n"), MalformedResponse);
}

}  // namespace
}  // namespace mat::llm
