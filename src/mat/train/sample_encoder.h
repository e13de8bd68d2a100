// Conversations to training samples: the engine's chat format (the same text LocalEngine::prepare
// gives the model), each image preprocessed and expanded to its <|image_pad|> run, tokenised
// turn by turn so that each token knows its turn. Targets: an assistant turn's content and its
// <|im_end|>; its "<|im_start|>assistant\n" header and everything else are context.
//
//   SampleEncoder encoder(tokenizer, image_config);
//   Sample sample = encoder.encode(conversation);
//
// Each turn's text is tokenised on its own, and an assistant turn's content apart from its
// header. The chat markers are special tokens that split the text anyway, so the ids equal
// those of the whole text, except where a reply begins with white space: it is then split as the
// model generated it, after the header.
#pragma once

#include <cstdint>
#include <vector>

#include "mat/engine/qwen2vl_config.h"
#include "mat/engine/tokenizer.h"
#include "mat/train/conversation.h"
#include "mat/train/sample.h"

namespace mat::train {

// What fit() did with a conversation.
enum class Fit {
  kWhole,      // it fits max_len as it is
  kTruncated,  // cut after its last whole assistant turn that fits
  kTooLong,    // skipped: over max_len (or not even its first assistant turn fits)
  kNoTarget,   // skipped: no assistant turn to learn
};

class SampleEncoder {
 public:
  // Both are used by reference: they must outlive the encoder.
  SampleEncoder(const engine::Tokenizer& tokenizer, const engine::ImageProcessorConfig& images);

  // The whole conversation as one sample. Throws core::Error naming the conversation for an
  // image that cannot be decoded.
  Sample encode(const Conversation& conversation) const;

  // encode() within `max_len` tokens (0: no limit). Over it, the conversation is either skipped
  // (kTooLong) or, with `truncate`, cut after its last whole assistant turn that fits, in both
  // `conversation` and `sample`. `sample` is only meaningful for kWhole and kTruncated.
  Fit fit(Conversation& conversation, Sample& sample, std::int64_t max_len, bool truncate) const;

 private:
  // encode(), with where each target turn's last token (its <|im_end|>) ends, per turn (0 for
  // turns that are not targets).
  Sample encode_turns(const Conversation& conversation,
                      std::vector<std::size_t>& target_ends) const;

  const engine::Tokenizer& tokenizer_;
  const engine::ImageProcessorConfig& images_;
};

}  // namespace mat::train
