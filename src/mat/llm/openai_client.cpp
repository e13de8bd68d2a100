#include "mat/llm/openai_client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "mat/core/http.h"
#include "mat/llm/openai_wire.h"
#include "mat/llm/request_retry.h"

namespace mat::llm {

namespace {

using std::chrono::milliseconds;

using AttemptOutcome = std::variant<ChatResult, TransientFailure>;

std::string server_at(const OpenAIConfig& config) {
  return "the model server at " + config.base_url;
}

core::HttpRequest make_request(const OpenAIConfig& config, const std::vector<ChatMessage>& messages,
                               const GenerationParams& params) {
  core::HttpRequest request;
  request.method = "POST";
  request.url = config.base_url + "/chat/completions";
  request.headers = {{"Content-Type", "application/json"},
                     {"Accept", config.stream ? "text/event-stream" : "application/json"}};
  if (!config.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  for (const auto& header : config.extra_headers) request.headers.push_back(header);
  request.body = serialize_chat_request(config.model, messages, params, config.stream);
  request.connect_timeout = config.connect_timeout;
  request.timeout = config.stream ? config.stream_timeout : config.request_timeout;
  if (config.stream) request.idle_timeout = config.idle_timeout;
  return request;
}

TransientFailure transport_failure(const OpenAIConfig& config,
                                   const core::HttpTransportError& error) {
  if (error.timed_out()) {
    return {0, "", server_at(config) + " did not answer in time (" + error.cause() + ")",
            config.stream ? "it sent nothing for longer than the idle timeout; check that it is "
                            "not stuck, or raise --idle-timeout"
                          : "it may be overloaded or the reply too long; try again later or "
                            "raise the request timeout",
            std::nullopt};
  }
  return {0, "", "cannot reach " + server_at(config) + " (" + error.cause() + ")",
          "is it running? Set OPENAI_BASE_URL to its address (for example "
          "http://127.0.0.1:8000/v1)",
          std::nullopt};
}

// The error for a status that will fail the same way however often it is retried.
ModelError rejection(const OpenAIConfig& config, const core::HttpResponse& response) {
  const std::string status = status_text(response);
  std::string message;
  if (response.status == 401 || response.status == 403) {
    message = config.api_key.empty()
                  ? server_at(config) + " requires an API key and none was set (" + status +
                        "): set OPENAI_API_KEY"
                  : server_at(config) + " rejected the API key (" + status +
                        "): set OPENAI_API_KEY to a valid key for this server";
  } else if (response.status == 404) {
    message = "model '" + config.model + "' not found at " + config.base_url + " (" + status +
              "): check the name against GET " + config.base_url +
              "/models, and that OPENAI_BASE_URL points at the right server";
  } else {
    message = server_at(config) + " rejected the request for model '" + config.model + "' (" +
              status +
              "): the request does not suit this server; often the conversation is too long for "
              "the model's context or a parameter is out of the range it accepts";
  }
  return ModelError(message, response.status, false);
}

ModelError malformed(const OpenAIConfig& config, int status, const MalformedResponse& error) {
  return ModelError(server_at(config) + " sent a reply that is not a chat completion (" +
                        error.what() +
                        "): check that OPENAI_BASE_URL points at an OpenAI-compatible API (it "
                        "usually ends in /v1)",
                    status, false);
}

ChatResult read_whole_reply(const core::HttpResponse& response, const TokenCallback& on_token) {
  ChatResult result = parse_chat_completion(response.body);
  if (on_token && !result.text.empty()) on_token(result.text);
  return result;
}

AttemptOutcome attempt_chat(const OpenAIConfig& config, const core::HttpRequest& request,
                            const TokenCallback& on_token) {
  ChatStreamReader reader(on_token);
  core::HttpResponse response;
  try {
    if (config.stream) {
      response = core::send_http(request,
                                 [&reader](std::string_view piece) { return reader.feed(piece); });
    } else {
      response = core::send_http(request);
    }
  } catch (const core::HttpTransportError& error) {
    if (reader.delivered_text()) {
      throw ModelError("the connection to " + server_at(config) +
                           " broke after part of the reply was streamed (" + error.cause() +
                           "); not retried because that text was already shown: run the request "
                           "again",
                       0, true);
    }
    return transport_failure(config, error);
  } catch (const MalformedResponse& error) {
    throw malformed(config, 200, error);
  }

  if (response.status < 200 || response.status >= 300) {
    if (is_retryable_status(response.status)) return status_failure(server_at(config), response);
    throw rejection(config, response);
  }
  if (config.stream && reader.server_error()) {
    throw ModelError(server_at(config) +
                         " reported an error while streaming the reply: " + *reader.server_error(),
                     response.status, false);
  }
  ChatResult result;
  try {
    result = config.stream ? reader.finish() : read_whole_reply(response, on_token);
  } catch (const MalformedResponse& error) {
    throw malformed(config, response.status, error);
  }
  if (config.stream && !reader.complete()) {
    const std::string what = server_at(config) +
                             " ended the stream before the reply was complete (no [DONE] and no "
                             "finish reason)";
    if (reader.delivered_text()) {
      throw ModelError(what + "; not retried because part of it was already shown", 0, true);
    }
    return TransientFailure{0, "", what, "check the server's log for the cause", std::nullopt};
  }
  return result;
}

// `request` with its whole-transfer timeout cut to what is left before `deadline`.
core::HttpRequest bounded_by(core::HttpRequest request,
                             std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
  if (request.timeout.count() == 0 || request.timeout > left) request.timeout = left;
  return request;
}

ModelError out_of_time(const OpenAIConfig& config, std::chrono::steady_clock::time_point started) {
  char took[32];
  std::snprintf(took, sizeof took, "%.1f s",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return ModelError(
      server_at(config) + " gave no reply within the time this request had (" + took + ")", 0,
      true);
}

}  // namespace

OpenAIConfig OpenAIConfig::from_env() {
  OpenAIConfig config;
  if (const char* base_url = std::getenv("OPENAI_BASE_URL"); base_url && *base_url) {
    config.base_url = base_url;
  }
  if (const char* api_key = std::getenv("OPENAI_API_KEY"); api_key) config.api_key = api_key;
  return config;
}

OpenAIChatModel::OpenAIChatModel(OpenAIConfig config) : config_(std::move(config)) {
  while (config_.base_url.ends_with('/')) config_.base_url.pop_back();
  if (!config_.base_url.starts_with("http://") && !config_.base_url.starts_with("https://")) {
    throw core::Error("the model server address '" + config_.base_url +
                      "' is not an http:// or https:// URL: set OPENAI_BASE_URL to one, for "
                      "example https://api.openai.com/v1");
  }
  if (config_.model.empty()) {
    throw core::Error("no model name was given for the model server at " + config_.base_url +
                      ": name one of the models it lists at GET " + config_.base_url + "/models");
  }
  config_.max_retries = std::max(config_.max_retries, 0);
}

ChatResult OpenAIChatModel::chat(const std::vector<ChatMessage>& messages,
                                 const GenerationParams& params, const TokenCallback& on_token) {
  const auto started = std::chrono::steady_clock::now();
  const core::HttpRequest request = make_request(config_, messages, params);
  const RetryPolicy policy{config_.max_retries,
                           BackoffPolicy{config_.initial_backoff, config_.max_backoff},
                           "model request", params.deadline};
  ChatResult result;
  const int attempts = retry_transient(policy, [&]() -> std::optional<TransientFailure> {
    if (params.deadline && std::chrono::steady_clock::now() >= *params.deadline) {
      throw out_of_time(config_, started);
    }
    AttemptOutcome outcome = attempt_chat(
        config_, params.deadline ? bounded_by(request, *params.deadline) : request, on_token);
    if (auto* failure = std::get_if<TransientFailure>(&outcome)) return std::move(*failure);
    result = std::move(std::get<ChatResult>(outcome));
    return std::nullopt;
  });
  result.attempts = attempts;
  result.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace mat::llm
