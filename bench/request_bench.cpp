// Serialising a chat request whose task carries a large image, as every step of a run does:
// the splicing serializer against a plain JSON dump of the same body.
//
//   build/bench/request_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include "mat/llm/openai_wire.h"

namespace {

using namespace mat;

// A run at step 8: system prompt, task with a ~1.5 MB base64 image, eight steps of history.
std::vector<llm::ChatMessage> conversation() {
  auto image = std::make_shared<core::EncodedImage>();
  image->mime_type = "image/jpeg";
  image->base64 = std::string(1'500'000, 'A');
  std::vector<llm::ChatMessage> messages = {
      llm::ChatMessage::text(llm::Role::kSystem, std::string(6000, 's')),
      {llm::Role::kUser,
       {llm::ContentPart::from_text("Task: ..."), llm::ContentPart::from_image(image)}}};
  for (int step = 0; step < 8; ++step) {
    messages.push_back(llm::ChatMessage::text(llm::Role::kAssistant, std::string(300, 'c')));
    messages.push_back(llm::ChatMessage::text(llm::Role::kUser, std::string(300, 'o')));
  }
  return messages;
}

void BM_PlainDump(benchmark::State& state) {
  const auto messages = conversation();
  for (auto _ : state) {
    benchmark::DoNotOptimize(llm::build_chat_request_body("m", messages, {}, true)
                                 .dump(-1, ' ', false, core::Json::error_handler_t::replace));
  }
}
BENCHMARK(BM_PlainDump)->Unit(benchmark::kMillisecond);

void BM_SplicedSerialize(benchmark::State& state) {
  const auto messages = conversation();
  for (auto _ : state) {
    benchmark::DoNotOptimize(llm::serialize_chat_request("m", messages, {}, true));
  }
}
BENCHMARK(BM_SplicedSerialize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
