// A tiny controller made the way the offline loop makes it, in a temporary folder: a generated
// text corpus, a tokenizer trained on it (`mat tokenizer train`) and a randomly initialised
// Qwen2-VL checkpoint (`mat model init`) small enough for tests.
#pragma once

#include <fstream>
#include <random>
#include <string>

#include "mat/core/json.h"
#include "mat/core/temp_dir.h"
#include "mat/engine/tokenizer_trainer.h"
#include "mat/train/model_init.h"

namespace mat::train::testing {

// Python-like lines over a small made-up vocabulary: learnable, the same on every run.
inline std::string controller_corpus_text(int lines) {
  static const std::vector<std::string> names = {"total", "count", "image", "faces", "price",
                                                 "rows",  "page",  "date",  "answer"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, names.size() - 1);
  std::uniform_int_distribution<int> digit(0, 9);
  std::string text;
  for (int i = 0; i < lines; ++i) {
    const std::string a = names[pick(rng)];
    const std::string b = names[pick(rng)];
    text += "def get_" + a + "(" + b + "):\n    return " + b + " + " + std::to_string(digit(rng)) +
            "\n";
  }
  return text;
}

inline ModelInitOptions tiny_model_options() {
  ModelInitOptions o;
  o.hidden = 64;
  o.layers = 2;
  o.heads = 4;
  o.kv_heads = 2;
  o.intermediate = 128;
  o.max_positions = 1024;
  o.vision_depth = 1;
  o.vision_dim = 32;
  o.vision_heads = 2;
  o.seed = 3;
  return o;
}

struct TinyController {
  core::TempDir dir{"controller"};
  std::filesystem::path corpus = dir.path() / "corpus.py";
  std::filesystem::path tokenizer = dir.path() / "tokenizer.json";
  std::filesystem::path model = dir.path() / "init";

  TinyController() {
    const std::string text = controller_corpus_text(400);
    std::ofstream(corpus) << text;
    engine::BpeTrainer trainer({512, 2});
    trainer.add_text(text);
    trainer.train();
    core::write_json_file(tokenizer, trainer.tokenizer_json());
    write_initial_model(tokenizer, model, tiny_model_options());
  }
};

}  // namespace mat::train::testing
