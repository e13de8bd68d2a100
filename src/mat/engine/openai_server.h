// `mat serve`: the local engine behind the OpenAI chat completions API, so that any OpenAI
// client (mat's own, the official Python client, vLLM-style tooling) can use it.
//
//   POST /v1/chat/completions   text and image_url (data: URL) parts, stop, temperature, top_p,
//                               top_k, max_tokens, seed, SSE streaming with usage; `model` picks
//                               the base model or a loaded LoRA adapter by name
//   GET  /v1/models             the base model and every adapter
//   GET  /health                {"status": "ok", ...}
//
// Requests are queued and decoded in batches by a BatchScheduler; a full queue answers 503 with
// Retry-After. Bad requests get OpenAI's error body with a 4xx status naming the field.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "mat/engine/batch_scheduler.h"
#include "mat/engine/local_engine.h"

namespace mat::engine {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;         // 0: any free port (bind() says which)
  std::string model_name;  // the base model's id in /v1/models and in requests
  int default_max_tokens = 1024;
  SchedulerOptions scheduler;
  std::size_t max_body_bytes = std::size_t{64} << 20;
};

class OpenAIServer {
 public:
  OpenAIServer(LocalEngine& engine, ServerOptions options);
  ~OpenAIServer();
  OpenAIServer(const OpenAIServer&) = delete;
  OpenAIServer& operator=(const OpenAIServer&) = delete;

  // Binds the listening socket; returns the port. Throws core::Error when it cannot.
  int bind();
  // Answers requests until stop(); bind() first.
  void serve();
  // Cancels the running generation, refuses the waiting requests and ends serve(). Safe from any
  // thread, also before serve() has started.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mat::engine
