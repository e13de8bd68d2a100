#include "mat/llm/images_client.h"

#include <algorithm>
#include <cstdlib>
#include <random>

#include "mat/core/base64.h"
#include "mat/core/http.h"
#include "mat/core/image.h"
#include "mat/core/json.h"
#include "mat/llm/chat_model.h"
#include "mat/llm/openai_wire.h"
#include "mat/llm/request_retry.h"

namespace mat::llm {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string server_at(const ImagesConfig& config) {
  return "the image server at " + config.base_url;
}

std::string random_boundary() {
  std::random_device device;
  std::mt19937_64 random(device());
  std::string boundary = "mat-";
  for (int i = 0; i < 24; ++i) boundary += "0123456789abcdef"[random() % 16];
  return boundary;
}

// A multipart/form-data body with text `fields` and one file `image`; returns the body and sets
// `boundary` to one that the image's bytes do not contain.
std::string multipart_body(const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::string& image, const std::string& file_name,
                           std::string& boundary) {
  do {
    boundary = random_boundary();
  } while (image.find(boundary) != std::string::npos);
  std::string body;
  for (const auto& [name, value] : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
            value + "\r\n";
  }
  const std::string mime = core::sniff_image_mime(image);
  std::string safe_name = file_name;  // it sits in a quoted header value
  std::erase_if(safe_name, [](char c) { return c == '"' || c == '\r' || c == '\n'; });
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" +
          safe_name + "\"\r\nContent-Type: " + (mime.empty() ? "application/octet-stream" : mime) +
          "\r\n\r\n" + image + "\r\n--" + boundary + "--\r\n";
  return body;
}

core::HttpRequest base_request(const ImagesConfig& config, const std::string& path) {
  core::HttpRequest request;
  request.method = "POST";
  request.url = config.base_url + path;
  if (!config.api_key.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config.api_key);
  }
  request.connect_timeout = config.connect_timeout;
  request.timeout = config.request_timeout;
  return request;
}

// Sends `request`, retrying transient failures while attempts and time are left. Returns a 2xx
// response; throws ModelError otherwise.
core::HttpResponse send_with_retries(const ImagesConfig& config, core::HttpRequest request,
                                     Clock::time_point deadline) {
  const std::string server = server_at(config);
  core::HttpResponse response;
  RetryPolicy policy;
  policy.max_retries = config.max_retries;
  policy.request_name = "image request";
  policy.deadline = deadline;
  retry_transient(policy, [&]() -> std::optional<TransientFailure> {
    request.timeout =
        std::min(config.request_timeout, std::chrono::ceil<milliseconds>(deadline - Clock::now()));
    try {
      response = core::send_http(request);
    } catch (const core::HttpTransportError& error) {
      return TransientFailure{0, "", "cannot reach " + server + ": " + error.cause(),
                              "check that the server runs and MAT_IMAGES_BASE_URL is right",
                              std::nullopt};
    }
    if (response.status >= 200 && response.status < 300) return std::nullopt;
    if (is_retryable_status(response.status)) return status_failure(server, response);
    throw ModelError(server + " refused the request (" + status_text(response) + ")",
                     response.status, false);
  });
  return response;
}

// The image in a response: data[0].b64_json, or the file at data[0].url.
std::string image_of(const ImagesConfig& config, const core::HttpResponse& response,
                     Clock::time_point deadline) {
  const std::optional<core::Json> reply = core::parse_untrusted_json(response.body);
  const auto malformed = [&](const std::string& why) {
    return ModelError(server_at(config) + " answered with " + why +
                          " instead of {\"data\": [{\"b64_json\": ...}]}",
                      response.status, false);
  };
  if (!reply || !reply->is_object() || !reply->contains("data") || !(*reply)["data"].is_array() ||
      (*reply)["data"].empty() || !(*reply)["data"][0].is_object()) {
    throw malformed("a body that holds no image");
  }
  const core::Json& item = (*reply)["data"][0];
  std::string bytes;
  if (item.contains("b64_json") && item["b64_json"].is_string()) {
    std::optional<std::string> decoded = core::base64_decode(item["b64_json"].get<std::string>());
    if (!decoded) throw malformed("a b64_json that is not base64");
    bytes = std::move(*decoded);
  } else if (item.contains("url") && item["url"].is_string()) {
    core::HttpRequest fetch;
    fetch.url = item["url"].get<std::string>();
    fetch.connect_timeout = config.connect_timeout;
    fetch.timeout = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (fetch.timeout.count() <= 0 ||
        !(fetch.url.starts_with("http://") || fetch.url.starts_with("https://"))) {
      throw malformed("an image URL that cannot be fetched ('" + fetch.url + "')");
    }
    const core::HttpResponse file = core::send_http(fetch);
    if (file.status != 200) {
      throw ModelError(server_at(config) + " gave an image URL that answered HTTP " +
                           std::to_string(file.status) + ": " + fetch.url,
                       file.status, true);
    }
    bytes = file.body;
  } else {
    throw malformed("an item without b64_json or url");
  }
  if (bytes.size() > config.max_image_bytes || core::sniff_image_mime(bytes).empty()) {
    throw malformed("bytes that are not an image file of at most " +
                    std::to_string(config.max_image_bytes >> 20) + " MiB");
  }
  return bytes;
}

}  // namespace

std::optional<ImagesConfig> ImagesConfig::from_env() {
  ImagesConfig config;
  config.model = env("MAT_IMAGES_MODEL");
  if (config.model.empty()) return std::nullopt;
  config.base_url = env("MAT_IMAGES_BASE_URL");
  if (config.base_url.empty()) config.base_url = env("OPENAI_BASE_URL");
  if (config.base_url.empty()) config.base_url = "https://api.openai.com/v1";
  config.size = env("MAT_IMAGES_SIZE");
  config.api_key = env("MAT_IMAGES_API_KEY");
  if (config.api_key.empty()) config.api_key = env("OPENAI_API_KEY");
  return config;
}

OpenAIImagesClient::OpenAIImagesClient(ImagesConfig config) : config_(std::move(config)) {
  while (config_.base_url.ends_with('/')) config_.base_url.pop_back();
  if (!config_.base_url.starts_with("http://") && !config_.base_url.starts_with("https://")) {
    throw core::Error("the image server address '" + config_.base_url +
                      "' is not an http:// or https:// URL: set MAT_IMAGES_BASE_URL to one");
  }
  if (config_.model.empty()) {
    throw core::Error("no image model is named for " + config_.base_url + ": set MAT_IMAGES_MODEL");
  }
}

std::string OpenAIImagesClient::generate(const std::string& prompt, Deadline deadline) const {
  core::HttpRequest request = base_request(config_, "/images/generations");
  request.headers.emplace_back("Content-Type", "application/json");
  core::Json body = {{"model", config_.model}, {"prompt", prompt}, {"n", 1}};
  if (!config_.size.empty()) body["size"] = config_.size;
  request.body = body.dump();
  return image_of(config_, send_with_retries(config_, std::move(request), deadline), deadline);
}

std::string OpenAIImagesClient::edit(const std::string& prompt, const std::string& image,
                                     const std::string& file_name, Deadline deadline) const {
  core::HttpRequest request = base_request(config_, "/images/edits");
  std::vector<std::pair<std::string, std::string>> fields = {
      {"model", config_.model}, {"prompt", prompt}, {"n", "1"}};
  if (!config_.size.empty()) fields.emplace_back("size", config_.size);
  std::string boundary;
  request.body = multipart_body(fields, image, file_name, boundary);
  request.headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
  return image_of(config_, send_with_retries(config_, std::move(request), deadline), deadline);
}

}  // namespace mat::llm
