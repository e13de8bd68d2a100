#include "support/fake_openai_server.h"

#include <httplib.h>

#include <deque>
#include <limits>
#include <mutex>
#include <thread>

#include "mat/core/error.h"

namespace mat::testing {

namespace {

constexpr const char* kModelName = "fake-model";
constexpr std::size_t kStreamPieceBytes = 4;
constexpr std::size_t kThreads = 64;

// `text` in pieces of about kStreamPieceBytes, never splitting a UTF-8 character.
std::vector<std::string> split_for_streaming(const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = std::min(start + kStreamPieceBytes, text.size());
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    pieces.push_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

core::Json usage_json(const ScriptedReply& reply) {
  return {{"prompt_tokens", reply.prompt_tokens},
          {"completion_tokens", reply.completion_tokens},
          {"total_tokens", reply.prompt_tokens + reply.completion_tokens}};
}

core::Json completion_json(const ScriptedReply& reply, const std::string& model) {
  return {{"id", "chatcmpl-fake"},
          {"object", "chat.completion"},
          {"created", 0},
          {"model", model},
          {"choices",
           {{{"index", 0},
             {"message", {{"role", "assistant"}, {"content", reply.content}}},
             {"finish_reason", reply.finish_reason}}}},
          {"usage", usage_json(reply)}};
}

// The events of a streamed reply, as OpenAI sends them: a role chunk, the text in several
// content chunks, a chunk with the finish reason, the usage chunk when asked for, [DONE].
std::vector<std::string> stream_events(const ScriptedReply& reply, const std::string& model,
                                       bool with_usage) {
  const auto chunk = [&model](core::Json choices) {
    return core::Json{{"id", "chatcmpl-fake"},
                      {"object", "chat.completion.chunk"},
                      {"created", 0},
                      {"model", model},
                      {"choices", std::move(choices)}};
  };
  const auto choice = [](core::Json delta, core::Json finish_reason) {
    return core::Json::array(
        {{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish_reason)}}});
  };
  std::vector<core::Json> chunks;
  chunks.push_back(chunk(choice({{"role", "assistant"}, {"content", ""}}, nullptr)));
  for (const std::string& piece : split_for_streaming(reply.content)) {
    chunks.push_back(chunk(choice({{"content", piece}}, nullptr)));
  }
  chunks.push_back(chunk(choice(core::Json::object(), reply.finish_reason)));
  if (with_usage) {
    core::Json usage = chunk(core::Json::array());
    usage["usage"] = usage_json(reply);
    chunks.push_back(std::move(usage));
  }
  std::vector<std::string> events;
  for (const core::Json& c : chunks) events.push_back("data: " + c.dump() + "\n\n");
  events.push_back("data: [DONE]\n\n");
  return events;
}

void send_reply(const ScriptedReply& reply, const core::Json& request, httplib::Response& res) {
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  res.status = reply.status;
  if (!reply.raw_body.empty()) {
    res.set_content(reply.raw_body, "application/json");
    return;
  }
  if (reply.status != 200) {
    res.set_content(ScriptedReply::error(reply.status, reply.content).raw_body, "application/json");
    return;
  }
  const bool is_object = request.is_object();
  const std::string model = is_object && request.contains("model") && request["model"].is_string()
                                ? request["model"].get<std::string>()
                                : kModelName;
  const bool stream = is_object && request.value("stream", core::Json(false)) == true;
  if (!stream) {
    res.set_content(completion_json(reply, model).dump(), "application/json");
    return;
  }
  const bool with_usage = is_object && request.contains("stream_options") &&
                          request["stream_options"].is_object() &&
                          request["stream_options"].value("include_usage", false);
  // One write per event, sent with chunked transfer encoding as a real server streams them.
  // With cut_stream the role chunk and the first text chunk go out, then returning false from the
  // provider makes httplib drop the connection mid-body.
  const std::size_t cut_after = reply.cut_stream ? 2 : std::numeric_limits<std::size_t>::max();
  auto write_events = [events = stream_events(reply, model, with_usage), cut_after](
                          std::size_t, httplib::DataSink& sink) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (i == cut_after) return false;
      if (!sink.write(events[i].data(), events[i].size())) return false;
    }
    sink.done();
    return true;
  };
  res.set_chunked_content_provider("text/event-stream", std::move(write_events));
}

// The body of a request as recorded by requests().
core::Json recorded_body(const httplib::Request& req) {
  if (req.is_multipart_form_data()) {
    core::Json form = core::Json::object();
    for (const auto& [name, field] : req.files) {
      form[name] = field.filename.empty() ? core::Json(field.content)
                                          : core::Json{{"filename", field.filename},
                                                       {"content_type", field.content_type},
                                                       {"size", field.content.size()}};
    }
    return form;
  }
  core::Json body = core::Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  return body.is_discarded() ? core::Json(req.body) : body;
}

}  // namespace

ScriptedReply ScriptedReply::text(std::string content) {
  ScriptedReply reply;
  reply.content = std::move(content);
  return reply;
}

ScriptedReply ScriptedReply::error(int status, std::string message,
                                   std::vector<std::pair<std::string, std::string>> headers) {
  ScriptedReply reply;
  reply.status = status;
  reply.headers = std::move(headers);
  reply.raw_body =
      core::Json{
          {"error", {{"message", std::move(message)}, {"type", "fake_error"}, {"code", status}}}}
          .dump();
  return reply;
}

struct FakeOpenAIServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mutex;
  std::deque<ScriptedReply> replies;
  std::vector<core::Json> requests;
  std::vector<std::string> paths;
  std::vector<httplib::Headers> request_headers;
  Responder responder;

  // Records the request and takes the next reply (or the responder's, or the "none left"
  // error); the responder runs outside the lock.
  ScriptedReply take(const httplib::Request& req, core::Json body) {
    Responder respond;
    {
      const std::lock_guard lock(mutex);
      requests.push_back(body);
      paths.push_back(req.path);
      request_headers.push_back(req.headers);
      if (!replies.empty()) {
        ScriptedReply reply = std::move(replies.front());
        replies.pop_front();
        return reply;
      }
      respond = responder;
    }
    if (!respond) return ScriptedReply::error(500, "fake server: no scripted reply left");
    return respond(req.path, body, req.get_header_value("X-Mat-Stage"));
  }
};

FakeOpenAIServer::FakeOpenAIServer() : impl_(std::make_unique<Impl>()) {
  httplib::Server& server = impl_->server;
  // One request per connection: an idle kept-alive connection would hold up stop() for seconds.
  server.set_keep_alive_max_count(1);
  // Enough threads to answer as many requests at once as a concurrent client sends (the default
  // pool of 8 would be the bottleneck of a benchmark at concurrency 32).
  server.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    const core::Json request = recorded_body(req);
    const ScriptedReply reply = impl_->take(req, request);
    if (reply.delay.count() > 0) std::this_thread::sleep_for(reply.delay);
    send_reply(reply, request, res);
  });
  // The other endpoints have no reply shape of their own here: the test scripts the raw body.
  server.Post(R"(/v1/(embeddings|images/generations|images/edits))",
              [this](const httplib::Request& req, httplib::Response& res) {
                const ScriptedReply reply = impl_->take(req, recorded_body(req));
                if (reply.delay.count() > 0) std::this_thread::sleep_for(reply.delay);
                for (const auto& [name, value] : reply.headers) res.set_header(name, value);
                res.status = reply.status;
                res.set_content(reply.raw_body, "application/json");
              });
  server.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
    const core::Json models = {
        {"object", "list"},
        {"data", {{{"id", kModelName}, {"object", "model"}, {"owned_by", "mat-tests"}}}}};
    res.set_content(models.dump(), "application/json");
  });

  impl_->port = server.bind_to_any_port("127.0.0.1");
  if (impl_->port < 0) {
    throw core::Error("fake OpenAI server: cannot bind a port on 127.0.0.1");
  }
  impl_->thread = std::thread([&server] { server.listen_after_bind(); });
  // The socket accepts connections already; wait for the loop so that stop() can end it.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeOpenAIServer::~FakeOpenAIServer() {
  impl_->server.stop();
  impl_->thread.join();
}

std::string FakeOpenAIServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1";
}

void FakeOpenAIServer::enqueue(ScriptedReply reply) {
  const std::lock_guard lock(impl_->mutex);
  impl_->replies.push_back(std::move(reply));
}

void FakeOpenAIServer::set_responder(Responder responder) {
  const std::lock_guard lock(impl_->mutex);
  impl_->responder = std::move(responder);
}

std::vector<core::Json> FakeOpenAIServer::requests() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

std::vector<std::string> FakeOpenAIServer::paths() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->paths;
}

std::size_t FakeOpenAIServer::request_count() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->requests.size();
}

std::vector<std::string> FakeOpenAIServer::header_values(const std::string& name) const {
  const std::lock_guard lock(impl_->mutex);
  std::vector<std::string> values;
  for (const httplib::Headers& headers : impl_->request_headers) {
    const auto it = headers.find(name);  // httplib compares header names case-insensitively
    values.push_back(it == headers.end() ? "" : it->second);
  }
  return values;
}

std::string unreachable_base_url() {
  const FakeOpenAIServer server;
  return server.base_url();
}

}  // namespace mat::testing
