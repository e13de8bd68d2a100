#include "mat/train/sample_encoder.h"

#include <string>

#include "mat/core/error.h"
#include "mat/engine/chat_format.h"
#include "mat/engine/prompt_input.h"

namespace mat::train {
namespace {

void append(Sample& sample, const std::vector<std::int32_t>& ids, bool target) {
  sample.ids.insert(sample.ids.end(), ids.begin(), ids.end());
  sample.is_target.insert(sample.is_target.end(), ids.size(), target ? 1 : 0);
}

}  // namespace

SampleEncoder::SampleEncoder(const engine::Tokenizer& tokenizer,
                             const engine::ImageProcessorConfig& images)
    : tokenizer_(tokenizer), images_(images) {}

Sample SampleEncoder::encode(const Conversation& conversation) const {
  std::vector<std::size_t> target_ends;
  return encode_turns(conversation, target_ends);
}

Sample SampleEncoder::encode_turns(const Conversation& conversation,
                                   std::vector<std::size_t>& target_ends) const {
  const std::string header =
      std::string(engine::kImStart) + std::string(llm::role_name(llm::Role::kAssistant)) + "\n";
  const std::string end_of_turn = std::string(engine::kImEnd) + "\n";
  Sample sample;
  sample.id = conversation.id;
  target_ends.assign(conversation.turns.size(), 0);
  // Each turn's text is what the chat format adds for it to the text of the turns before, so
  // that the turns together are exactly the rendering of the whole conversation.
  std::vector<llm::ChatMessage> shown;
  std::size_t rendered = 0;
  for (std::size_t i = 0; i < conversation.turns.size(); ++i) {
    const Turn& turn = conversation.turns[i];
    shown.push_back(turn.message);
    const std::string whole = engine::render_chat(shown, false);
    std::string text = whole.substr(rendered);
    rendered = whole.size();

    std::vector<std::int64_t> counts;
    for (const llm::ContentPart& part : turn.message.parts) {
      if (!part.is_image()) continue;
      try {
        sample.images.push_back(engine::process_image_part(part, images_));
      } catch (const core::Error& e) {
        throw core::Error("sample " + conversation.id + " (" + conversation.origin +
                          "): " + e.what());
      }
      counts.push_back(engine::image_token_count(sample.images.back(), images_.merge_size));
    }
    text = engine::expand_image_pads(text, counts);
    if (!turn.is_target) {
      append(sample, tokenizer_.encode(text), false);
      continue;
    }
    if (!text.starts_with(header) || !text.ends_with(end_of_turn)) {
      throw core::Error("sample " + conversation.id + ": turn " + std::to_string(i) +
                        " is a target but not an assistant turn of the chat format");
    }
    append(sample, tokenizer_.encode(header), false);
    append(sample,
           tokenizer_.encode(
               std::string_view(text).substr(header.size(), text.size() - header.size() - 1)),
           true);
    target_ends[i] = sample.ids.size();
    // The newline after <|im_end|> leads into the next turn; after the last one there is none.
    if (i + 1 < conversation.turns.size()) append(sample, tokenizer_.encode("\n"), false);
  }
  return sample;
}

Fit SampleEncoder::fit(Conversation& conversation, Sample& sample, std::int64_t max_len,
                       bool truncate) const {
  if (!has_target(conversation)) return Fit::kNoTarget;
  std::vector<std::size_t> target_ends;
  sample = encode_turns(conversation, target_ends);
  const auto limit = static_cast<std::size_t>(max_len);
  if (max_len <= 0 || sample.ids.size() <= limit) return Fit::kWhole;
  if (!truncate) return Fit::kTooLong;
  std::size_t keep = conversation.turns.size();
  while (keep > 0 && (target_ends[keep - 1] == 0 || target_ends[keep - 1] > limit)) --keep;
  if (keep == 0) return Fit::kTooLong;
  conversation.turns.resize(keep);
  sample.ids.resize(target_ends[keep - 1]);
  sample.is_target.resize(target_ends[keep - 1]);
  sample.images.resize(image_count(conversation));
  return Fit::kTruncated;
}

}  // namespace mat::train
