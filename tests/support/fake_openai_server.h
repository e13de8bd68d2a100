// A fake OpenAI-compatible server for tests: answers POST /v1/chat/completions with scripted
// replies (whole or streamed as server-sent events, errors, garbage), and POST /v1/embeddings,
// /v1/images/generations and /v1/images/edits with the scripted reply's raw body; records the
// requests it received, and lists one model at GET /v1/models.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mat/core/json.h"

namespace mat::testing {

struct ScriptedReply {
  int status = 200;
  std::string content;  // the assistant's text for a 200 reply (the error message otherwise)
  std::string finish_reason = "stop";
  int prompt_tokens = 11;
  int completion_tokens = 7;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Retry-After", "0"}
  std::string raw_body;  // when non-empty, sent verbatim with `status` instead (errors, garbage)
  std::chrono::milliseconds delay{0};  // waited before answering (to provoke timeouts)
  bool cut_stream = false;  // a streamed reply: drop the connection after the first text chunk

  static ScriptedReply text(std::string content);
  // An OpenAI-style error body: {"error": {"message": message, "type": ..., "code": status}}.
  static ScriptedReply error(int status, std::string message,
                             std::vector<std::pair<std::string, std::string>> headers = {});
};

class FakeOpenAIServer {
 public:
  // Listens on 127.0.0.1 at a free port, serving on a background thread; ready on return.
  // Throws core::Error when no port can be bound.
  FakeOpenAIServer();
  ~FakeOpenAIServer();  // stops serving and joins the thread
  FakeOpenAIServer(const FakeOpenAIServer&) = delete;
  FakeOpenAIServer& operator=(const FakeOpenAIServer&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"

  // Replies are served in the order enqueued, one per POST request, whatever its endpoint. With
  // none left the server answers 500 with the error message "fake server: no scripted reply left",
  // or asks the responder when one is set.
  void enqueue(ScriptedReply reply);

  // Answers a request by what it asks (its path, body and headers) rather than by its place in
  // line: a deterministic teacher for runs whose request order is not fixed. Its reply's delay
  // is a fixed latency. Called on the server's threads, several at a time.
  using Responder = std::function<ScriptedReply(const std::string& path, const core::Json& body,
                                                const std::string& stage)>;
  void set_responder(Responder responder);  // `stage`: the X-Mat-Stage header ("" when absent)

  // The bodies of the POST requests received so far, in order: the JSON body; a multipart form
  // as an object of its fields (a file field as {"filename", "content_type", "size"}); any other
  // body as a JSON string holding it.
  std::vector<core::Json> requests() const;
  // The path of each POST request received ("/v1/chat/completions", "/v1/embeddings", ...).
  std::vector<std::string> paths() const;
  std::size_t request_count() const;
  // The value of header `name` in each POST request received, in order ("" where absent).
  std::vector<std::string> header_values(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A base URL where nothing listens (that of a server that has just stopped), for tests of an
// unreachable model server.
std::string unreachable_base_url();

}  // namespace mat::testing
