#include "mat/train/train_options.h"

namespace mat::train {

core::Json to_json(const TrainOptions& o) {
  return {
      {"base", o.base.string()},
      {"full", o.full},
      {"rank", o.lora.rank},
      {"alpha", o.lora.alpha},
      {"dropout", o.lora.dropout},
      {"targets", o.lora.targets},
      {"lr", o.lr},
      {"epochs", o.epochs},
      {"batch", o.batch},
      {"grad_accum", o.grad_accum},
      {"max_len", o.max_len},
      {"warmup", o.warmup},
      {"weight_decay", o.weight_decay},
      {"beta1", o.beta1},
      {"beta2", o.beta2},
      {"eps", o.eps},
      {"clip", o.clip},
      {"seed", o.seed},
      {"dtype", o.dtype},
      {"share_prefix", o.share_prefix},
  };
}

}  // namespace mat::train
