#include "mat/llm/openai_embedder.h"

#include <optional>
#include <utility>

#include "mat/core/http.h"
#include "mat/llm/openai_wire.h"
#include "mat/llm/request_retry.h"

namespace mat::llm {

namespace {

std::string server_at(const OpenAIConfig& config) {
  return "the embeddings server at " + config.base_url;
}

core::HttpRequest make_request(const OpenAIConfig& config, const std::vector<std::string>& texts) {
  core::HttpRequest request;
  request.method = "POST";
  request.url = config.base_url + "/embeddings";
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  if (!config.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  request.body = core::Json{{"model", config.model}, {"input", texts}}.dump();
  request.connect_timeout = config.connect_timeout;
  request.timeout = config.request_timeout;
  return request;
}

TransientFailure transport_failure(const OpenAIConfig& config,
                                   const core::HttpTransportError& error) {
  if (error.timed_out()) {
    return {0, "", server_at(config) + " did not answer in time (" + error.cause() + ")",
            "it may be overloaded; try again later or raise the request timeout", std::nullopt};
  }
  return {0, "", "cannot reach " + server_at(config) + " (" + error.cause() + ")",
          "is it running, and is its address (up to and including /v1) right?", std::nullopt};
}

// The error for a status that will fail the same way however often it is retried.
ModelError rejection(const OpenAIConfig& config, const core::HttpResponse& response) {
  const std::string status = status_text(response);
  std::string message;
  if (response.status == 401 || response.status == 403) {
    message = server_at(config) +
              (config.api_key.empty() ? " requires an API key and none was set"
                                      : " rejected the API key") +
              " (" + status + "): set OPENAI_API_KEY to a valid key for this server";
  } else if (response.status == 404) {
    message = "embedding model '" + config.model + "' not found at " + config.base_url + " (" +
              status + "): check the name against GET " + config.base_url +
              "/models, and that the server offers /embeddings (llama-server needs --embeddings)";
  } else {
    message = server_at(config) + " rejected the request for model '" + config.model + "' (" +
              status +
              "): often the model is not an embedding model, or a text is longer than its input "
              "limit";
  }
  return ModelError(message, response.status, false);
}

// The vectors of an embeddings list, placed by their "index" (servers may answer out of order).
std::vector<Embedding> parse_embeddings(std::string_view body, size_t expected) {
  const std::optional<core::Json> reply = core::parse_untrusted_json(body);
  if (!reply || !reply->is_object() || !reply->contains("data") || !(*reply)["data"].is_array()) {
    throw MalformedResponse("no \"data\" list in " + excerpt(body));
  }
  const core::Json& data = (*reply)["data"];
  if (data.size() != expected) {
    throw MalformedResponse(std::to_string(data.size()) + " embeddings for " +
                            std::to_string(expected) + " texts");
  }
  std::vector<Embedding> embeddings(expected);
  size_t width = 0;  // every vector's length, taken from the first
  for (size_t i = 0; i < data.size(); ++i) {
    const core::Json& item = data[i];
    const size_t index = item.contains("index") && item["index"].is_number_unsigned()
                             ? item["index"].get<size_t>()
                             : i;
    if (index >= expected || !embeddings[index].empty()) {
      throw MalformedResponse("embedding " + std::to_string(i) + " has the index " +
                              std::to_string(index) + ", out of range or repeated");
    }
    if (!item.contains("embedding") || !item["embedding"].is_array() || item["embedding"].empty()) {
      throw MalformedResponse("embedding " + std::to_string(i) +
                              " has no \"embedding\" list of numbers (base64 is not asked for)");
    }
    for (const core::Json& value : item["embedding"]) {
      if (!value.is_number()) {
        throw MalformedResponse("embedding " + std::to_string(i) + " holds " + value.dump(-1));
      }
      embeddings[index].push_back(value.get<float>());
    }
    if (width == 0) width = embeddings[index].size();
    if (embeddings[index].size() != width) {
      throw MalformedResponse("the embeddings differ in length (" + std::to_string(width) +
                              " and " + std::to_string(embeddings[index].size()) + ")");
    }
  }
  return embeddings;
}

}  // namespace

OpenAIEmbedder::OpenAIEmbedder(OpenAIConfig config) : config_(std::move(config)) {
  while (config_.base_url.ends_with('/')) config_.base_url.pop_back();
  if (!config_.base_url.starts_with("http://") && !config_.base_url.starts_with("https://")) {
    throw core::Error("the embeddings server address '" + config_.base_url +
                      "' is not an http:// or https:// URL: give one, for example "
                      "https://api.openai.com/v1");
  }
  if (config_.model.empty()) {
    throw core::Error("no embedding model was named for the server at " + config_.base_url +
                      ": name one of the models it lists at GET " + config_.base_url + "/models");
  }
}

std::vector<Embedding> OpenAIEmbedder::embed(const std::vector<std::string>& texts) {
  if (texts.empty()) return {};
  const core::HttpRequest request = make_request(config_, texts);
  std::vector<Embedding> embeddings;
  const RetryPolicy policy{config_.max_retries,
                           BackoffPolicy{config_.initial_backoff, config_.max_backoff},
                           "embeddings request", std::nullopt};
  retry_transient(policy, [&]() -> std::optional<TransientFailure> {
    core::HttpResponse response;
    try {
      response = core::send_http(request);
    } catch (const core::HttpTransportError& error) {
      return transport_failure(config_, error);
    }
    if (response.status < 200 || response.status >= 300) {
      if (is_retryable_status(response.status)) return status_failure(server_at(config_), response);
      throw rejection(config_, response);
    }
    try {
      embeddings = parse_embeddings(response.body, texts.size());
    } catch (const MalformedResponse& error) {
      throw ModelError(server_at(config_) + " sent a reply that is not a list of embeddings (" +
                           error.what() +
                           "): check that the address points at an OpenAI-compatible API (it "
                           "usually ends in /v1)",
                       response.status, false);
    }
    return std::nullopt;
  });
  return embeddings;
}

}  // namespace mat::llm
