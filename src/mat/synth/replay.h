// Replay: a teacher that answers from the replies recorded in a run's store instead of asking a
// server, request by request (request_key()). For tests and audits (the same run again, to the
// byte, with no endpoint) and for re-running later stages with new settings: what is asked
// again is answered from the record; what is new is not. The embedder is replayed too, text by
// text, so a replay run asks no server anything.
#pragma once

#include <memory>
#include <string>

#include "mat/llm/chat_model.h"
#include "mat/llm/embedder.h"
#include "mat/synth/store.h"

namespace mat::synth {

// The teacher of `stage`, answering from `recorded` (which must outlive it). A request never
// recorded fails with a permanent llm::ModelError naming the stage: the unit is recorded as
// failed, since asking again would fail again.
std::shared_ptr<llm::ChatModel> replay_model(Store& recorded, const std::string& stage,
                                             std::string model_name);

// `inner`, recording every vector it returns in `store` (which must outlive it) for replay.
std::shared_ptr<llm::Embedder> recording_embedder(std::shared_ptr<llm::Embedder> inner,
                                                  Store& store);
// The embedder `model_name`, answering from the vectors `recorded` holds. A text never embedded
// there fails with a permanent llm::ModelError.
std::shared_ptr<llm::Embedder> replay_embedder(Store& recorded, std::string model_name);

}  // namespace mat::synth
