#include "mat/engine/openai_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "mat/core/http_listen.h"
#include "mat/core/json.h"
#include "mat/engine/serve_request.h"

namespace mat::engine {

namespace {

using core::Json;
using namespace std::chrono_literals;

std::int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string completion_id() {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t process_salt = std::random_device{}();
  char id[40];
  std::snprintf(id, sizeof id, "chatcmpl-%012llx%06llx",
                static_cast<unsigned long long>(process_salt & 0xffffffffffffULL),
                static_cast<unsigned long long>(++counter & 0xffffffULL));
  return id;
}

void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& type, const std::string& param = {},
                const std::string& code = {}) {
  Json error = {{"message", message}, {"type", type}};
  error["param"] = param.empty() ? Json(nullptr) : Json(param);
  error["code"] = code.empty() ? Json(nullptr) : Json(code);
  res.status = status;
  res.set_content(Json{{"error", error}}.dump(), "application/json");
}

Json usage_of(const GenerationResult& r) {
  const auto completion = static_cast<std::int64_t>(r.ids.size());
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", r.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

// OpenAI has no "cancelled": a sequence cut short by shutdown reports the length reason.
std::string finish_reason_of(const GenerationResult& r) {
  return r.finish_reason == "stop" ? "stop" : "length";
}

// Text pieces on their way from the worker thread to a streaming response.
class Channel {
 public:
  void push(std::string_view piece) {
    {
      std::lock_guard lock(mutex_);
      pieces_.emplace_back(piece);
    }
    ready_.notify_one();
  }
  // Waits a little for pieces; returns them all (possibly none).
  std::deque<std::string> take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, wait, [this] { return !pieces_.empty(); });
    std::deque<std::string> out;
    out.swap(pieces_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> pieces_;
};

// One streamed completion: the chunks of OpenAI's chat.completion.chunk protocol.
class ChunkWriter {
 public:
  ChunkWriter(std::string id, std::string model)
      : id_(std::move(id)), model_(std::move(model)), created_(unix_time()) {}

  std::string delta(const Json& delta, const Json& finish_reason = nullptr) const {
    return event({{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}});
  }
  std::string usage(const GenerationResult& r) const {
    Json chunk = base();
    chunk["choices"] = Json::array();
    chunk["usage"] = usage_of(r);
    return "data: " + chunk.dump() + "\n\n";
  }

 private:
  Json base() const {
    return {
        {"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }
  std::string event(const Json& choice) const {
    Json chunk = base();
    chunk["choices"] = Json::array({choice});
    return "data: " + chunk.dump() + "\n\n";
  }

  std::string id_;
  std::string model_;
  std::int64_t created_;
};

}  // namespace

struct OpenAIServer::Impl {
  Impl(LocalEngine& engine_, ServerOptions options_)
      : engine(engine_), options(std::move(options_)), scheduler(engine_, options.scheduler) {}

  LocalEngine& engine;
  ServerOptions options;
  BatchScheduler scheduler;
  httplib::Server http;
  std::atomic<bool> stopping{false};
  // Chat requests whose response is not yet written; stop() lets them finish first, so that a
  // stream ends with its finish chunk and [DONE] rather than a cut connection.
  std::atomic<int> in_flight{0};

  void routes();
  void models(httplib::Response& res) const;
  void chat(const httplib::Request& req, httplib::Response& res);
  void stream(const ChatRequest& request, std::shared_ptr<Job> job,
              std::shared_ptr<Channel> channel, httplib::Response& res);
  // The adapter a request's model names ("" for the base model); nullopt for an unknown name.
  std::optional<std::string> adapter_of(const std::string& model) const;
};

void OpenAIServer::Impl::routes() {
  http.set_payload_max_length(options.max_body_bytes);
  // One HTTP thread per request the scheduler may hold, plus a few to refuse the rest quickly.
  const std::size_t threads = options.scheduler.max_queue + 4;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(
        Json{{"status", "ok"}, {"model", options.model_name}, {"pending", scheduler.pending()}}
            .dump(),
        "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { models(res); });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    ++in_flight;
    chat(req, res);
    --in_flight;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      send_error(res, 404,
                 "no route " + req.method + " " + req.path +
                     " (POST /v1/chat/completions, GET /v1/models, GET /health)",
                 "invalid_request_error");
    } else if (res.status == 413) {
      send_error(res, 413, "the request body is too large", "invalid_request_error");
    }
  });
}

void OpenAIServer::Impl::models(httplib::Response& res) const {
  Json data = Json::array();
  const std::int64_t created = unix_time();
  data.push_back(
      {{"id", options.model_name}, {"object", "model"}, {"created", created}, {"owned_by", "mat"}});
  for (const std::string& adapter : engine.adapters()) {
    data.push_back({{"id", adapter},
                    {"object", "model"},
                    {"created", created},
                    {"owned_by", "mat"},
                    {"parent", options.model_name}});
  }
  res.set_content(Json{{"object", "list"}, {"data", data}}.dump(), "application/json");
}

std::optional<std::string> OpenAIServer::Impl::adapter_of(const std::string& model) const {
  if (model == options.model_name) return std::string();
  for (const std::string& adapter : engine.adapters()) {
    if (adapter == model) return adapter;
  }
  return std::nullopt;
}

void OpenAIServer::Impl::chat(const httplib::Request& req, httplib::Response& res) {
  ChatRequest request;
  try {
    request = parse_chat_request(req.body, options.default_max_tokens);
  } catch (const BadRequest& e) {
    return send_error(res, 400, e.what(), "invalid_request_error", e.param());
  }
  const std::optional<std::string> adapter = adapter_of(request.model);
  if (!adapter) {
    std::string names = options.model_name;
    for (const std::string& a : engine.adapters()) names += ", " + a;
    return send_error(res, 404,
                      "the model '" + request.model + "' does not exist (served: " + names + ")",
                      "invalid_request_error", "model", "model_not_found");
  }
  PromptInput prompt;
  try {
    prompt = engine.prepare(request.messages);
  } catch (const core::Error& e) {
    return send_error(res, 400, e.what(), "invalid_request_error", "messages");
  }
  const std::int64_t context = engine.config().text.max_position_embeddings;
  const auto prompt_tokens = static_cast<std::int64_t>(prompt.ids.size());
  if (prompt_tokens + request.params.max_tokens > context) {
    return send_error(res, 400,
                      "the prompt (" + std::to_string(prompt_tokens) +
                          " tokens) plus max_tokens (" + std::to_string(request.params.max_tokens) +
                          ") exceed the model's context of " + std::to_string(context),
                      "invalid_request_error", "max_tokens", "context_length_exceeded");
  }

  auto channel = request.stream ? std::make_shared<Channel>() : nullptr;
  TextCallback on_text;
  if (channel) on_text = [channel](std::string_view piece) { channel->push(piece); };
  auto job = std::make_shared<Job>(std::move(prompt), request.params, *adapter, on_text);
  std::future<GenerationResult> done;
  try {
    done = scheduler.submit(job);
  } catch (const QueueFull& e) {
    res.set_header("Retry-After", "1");
    return send_error(res, 503, e.what(), "server_error", "", "server_busy");
  }
  if (channel) {
    auto shared_done = std::make_shared<std::future<GenerationResult>>(std::move(done));
    auto writer = std::make_shared<ChunkWriter>(completion_id(), request.model);
    auto started = std::make_shared<bool>(false);
    const bool include_usage = request.include_usage;
    res.set_header("Cache-Control", "no-cache");
    ++in_flight;  // until the stream is written: counted out by the releaser
    res.set_chunked_content_provider(
        "text/event-stream",
        [job, channel, shared_done, writer, started, include_usage](std::size_t,
                                                                    httplib::DataSink& sink) {
          auto send = [&sink, &job](const std::string& event) {
            if (sink.write(event.data(), event.size())) return true;
            job->cancelled = true;  // the client went away: free its slot in the batch
            return false;
          };
          if (!*started) {
            *started = true;
            return send(writer->delta({{"role", "assistant"}, {"content", ""}}));
          }
          const bool finished = shared_done->wait_for(0s) == std::future_status::ready;
          for (const std::string& piece : channel->take(finished ? 0ms : 50ms)) {
            if (!send(writer->delta({{"content", piece}}))) return false;
          }
          if (!finished) return true;
          try {
            const GenerationResult r = shared_done->get();
            if (!send(writer->delta(Json::object(), finish_reason_of(r)))) return false;
            if (include_usage && !send(writer->usage(r))) return false;
          } catch (const std::exception& e) {
            const Json error = {{"error", {{"message", e.what()}, {"type", "server_error"}}}};
            if (!send("data: " + error.dump() + "\n\n")) return false;
          }
          send("data: [DONE]\n\n");
          sink.done();
          return true;
        },
        [this](bool) { --in_flight; });
    return;
  }

  try {
    const GenerationResult r = done.get();
    const Json message = {{"role", "assistant"}, {"content", r.text}};
    const Json body = {{"id", completion_id()},
                       {"object", "chat.completion"},
                       {"created", unix_time()},
                       {"model", request.model},
                       {"choices", Json::array({{{"index", 0},
                                                 {"message", message},
                                                 {"finish_reason", finish_reason_of(r)},
                                                 {"logprobs", nullptr}}})},
                       {"usage", usage_of(r)}};
    res.set_content(body.dump(), "application/json");
  } catch (const QueueFull& e) {
    res.set_header("Retry-After", "1");
    send_error(res, 503, e.what(), "server_error", "", "server_busy");
  } catch (const std::exception& e) {
    send_error(res, 500, std::string("generation failed: ") + e.what(), "server_error");
  }
}

OpenAIServer::OpenAIServer(LocalEngine& engine, ServerOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {
  impl_->routes();
}

OpenAIServer::~OpenAIServer() {
  stop();
}

int OpenAIServer::bind() {
  return core::bind_listener(impl_->http, impl_->options.host, impl_->options.port);
}

void OpenAIServer::serve() {
  if (!impl_->stopping) impl_->http.listen_after_bind();
}

void OpenAIServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->scheduler.stop();  // the running batch ends as "cancelled", the waiting get 503
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (impl_->in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  impl_->http.stop();
}

}  // namespace mat::engine
