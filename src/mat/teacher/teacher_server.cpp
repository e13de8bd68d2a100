#include "mat/teacher/teacher_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>

#include "mat/core/http_listen.h"
#include "mat/core/json.h"
#include "mat/teacher/text_embedding.h"

namespace mat::teacher {
namespace {

using core::Json;

constexpr const char* kStageHeader = "X-Mat-Stage";

void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& type = "invalid_request_error") {
  res.status = status;
  res.set_content(
      Json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}}
          .dump(),
      "application/json");
}

std::int64_t tokens(const std::string& text) {
  return static_cast<std::int64_t>(text.size() / 4 + 1);
}

// The text parts of a message's content (a string, or a list of parts).
std::string content_text(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const Json& part : content) {
    if (part.is_object() && part.value("type", "") == "text") text += part.value("text", "");
  }
  return text;
}

std::vector<TextMessage> messages_of(const Json& body) {
  const auto list = body.find("messages");
  if (list == body.end() || !list->is_array()) {
    throw BadRequest("the request's \"messages\" must be a list of chat messages");
  }
  std::vector<TextMessage> messages;
  for (const Json& message : *list) {
    if (!message.is_object()) throw BadRequest("every message must be an object");
    messages.push_back({message.value("role", ""), content_text(message.value("content", Json()))});
  }
  return messages;
}

// The reply cut at the first of the request's stop sequences, as an OpenAI server does.
std::string stopped(std::string text, const Json& body) {
  const Json stop = body.value("stop", Json());
  std::vector<std::string> sequences;
  if (stop.is_string()) sequences.push_back(stop.get<std::string>());
  if (stop.is_array()) {
    for (const Json& s : stop) {
      if (s.is_string()) sequences.push_back(s.get<std::string>());
    }
  }
  for (const std::string& sequence : sequences) {
    const auto at = sequence.empty() ? std::string::npos : text.find(sequence);
    if (at != std::string::npos) text.resize(at);
  }
  return text;
}

std::int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct TeacherServer::Impl {
  Impl(const ProceduralTeacher& teacher_, ServerOptions options_)
      : teacher(teacher_), options(std::move(options_)) {}

  void routes();
  void chat(const httplib::Request& req, httplib::Response& res);
  void embeddings(const httplib::Request& req, httplib::Response& res) const;

  const ProceduralTeacher& teacher;
  ServerOptions options;
  httplib::Server http;
  std::atomic<std::uint64_t> completions{0};
  std::atomic<bool> stopping{false};
};

void TeacherServer::Impl::routes() {
  const int threads = std::max(1, options.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // An idle keep-alive connection holds a worker, and stop() waits for it: keep that short.
  http.set_keep_alive_timeout(1);
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(Json{{"status", "ok"}, {"server", "mat teacher"}}.dump(), "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const Json model = {{"id", options.model_name}, {"object", "model"}, {"owned_by", "mat"}};
    res.set_content(Json{{"object", "list"}, {"data", Json::array({model})}}.dump(),
                    "application/json");
  });
  http.Post("/v1/chat/completions",
            [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
  http.Post("/v1/embeddings",
            [this](const httplib::Request& req, httplib::Response& res) { embeddings(req, res); });
}

void TeacherServer::Impl::chat(const httplib::Request& req, httplib::Response& res) {
  const Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return send_error(res, 400, "the request body is not a JSON object");
  }
  std::string text;
  std::int64_t prompt_tokens = 0;
  try {
    const std::vector<TextMessage> messages = messages_of(body);
    for (const TextMessage& message : messages) prompt_tokens += tokens(message.text);
    const Json seed = body.value("seed", Json());
    text = teacher.reply(
        req.get_header_value(kStageHeader), messages,
        seed.is_number_integer() ? std::optional(seed.get<std::int64_t>()) : std::nullopt);
  } catch (const BadRequest& e) {
    return send_error(res, 400, e.what());
  } catch (const std::exception& e) {
    return send_error(res, 500, std::string("the teacher failed: ") + e.what(), "server_error");
  }
  text = stopped(std::move(text), body);
  const std::string model = body.value("model", options.model_name);
  const Json usage = {{"prompt_tokens", prompt_tokens},
                      {"completion_tokens", tokens(text)},
                      {"total_tokens", prompt_tokens + tokens(text)}};
  const std::string id = "chatcmpl-teacher-" + std::to_string(++completions);
  const Json base = {{"id", id}, {"created", unix_time()}, {"model", model}};
  if (!body.value("stream", false)) {
    Json reply = base;
    reply["object"] = "chat.completion";
    reply["choices"] = Json::array({{{"index", 0},
                                     {"message", {{"role", "assistant"}, {"content", text}}},
                                     {"finish_reason", "stop"}}});
    reply["usage"] = usage;
    return res.set_content(reply.dump(), "application/json");
  }
  // The whole reply is known: the stream is written at once, as OpenAI's chunks.
  Json chunk = base;
  chunk["object"] = "chat.completion.chunk";
  std::string stream;
  const auto event = [&](const Json& delta, const Json& finish) {
    chunk["choices"] = Json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}});
    stream += "data: " + chunk.dump() + "\n\n";
  };
  event({{"role", "assistant"}, {"content", ""}}, nullptr);
  event({{"content", text}}, nullptr);
  event(Json::object(), "stop");
  if (body.value("stream_options", Json::object()).value("include_usage", false)) {
    chunk["choices"] = Json::array();
    chunk["usage"] = usage;
    stream += "data: " + chunk.dump() + "\n\n";
  }
  stream += "data: [DONE]\n\n";
  res.set_header("Cache-Control", "no-cache");
  res.set_content(stream, "text/event-stream");
}

void TeacherServer::Impl::embeddings(const httplib::Request& req, httplib::Response& res) const {
  const Json body = Json::parse(req.body, nullptr, false);
  const Json input = body.is_object() ? body.value("input", Json()) : Json();
  std::vector<std::string> texts;
  if (input.is_string()) texts.push_back(input.get<std::string>());
  if (input.is_array()) {
    for (const Json& text : input) {
      if (!text.is_string()) return send_error(res, 400, "\"input\" must hold only strings");
      texts.push_back(text.get<std::string>());
    }
  }
  if (texts.empty()) {
    return send_error(res, 400, "\"input\" must be a string or a non-empty list of strings");
  }
  Json data = Json::array();
  std::int64_t used = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embed_text(texts[i])}});
    used += tokens(texts[i]);
  }
  res.set_content(Json{{"object", "list"},
                       {"data", data},
                       {"model", body.value("model", options.model_name)},
                       {"usage", {{"prompt_tokens", used}, {"total_tokens", used}}}}
                      .dump(),
                  "application/json");
}

TeacherServer::TeacherServer(const ProceduralTeacher& teacher, ServerOptions options)
    : impl_(std::make_unique<Impl>(teacher, std::move(options))) {
  impl_->routes();
}

TeacherServer::~TeacherServer() {
  stop();
}

int TeacherServer::bind() {
  return core::bind_listener(impl_->http, impl_->options.host, impl_->options.port);
}

void TeacherServer::serve() {
  if (!impl_->stopping) impl_->http.listen_after_bind();
}

void TeacherServer::stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->http.stop();
}

}  // namespace mat::teacher
