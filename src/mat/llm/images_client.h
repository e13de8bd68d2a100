// An OpenAI-images-compatible endpoint (OpenAI, LocalAI, a diffusers or ComfyUI proxy):
// POST {base_url}/images/generations (JSON) and {base_url}/images/edits (multipart form), one
// image per request, the bytes returned whether the server sends them inline (b64_json) or as a
// URL to fetch.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace mat::llm {

struct ImagesConfig {
  std::string base_url;  // up to and including the version, "/v1"
  std::string api_key;   // sent as "Authorization: Bearer <key>" when non-empty
  std::string model;     // "gpt-image-1", "dall-e-3", whatever the server serves
  std::string size;      // "1024x1024"; empty: the server's default
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{300'000};  // image generation is slow
  int max_retries = 2;                                 // for 408, 429, 5xx and transport failures
  std::size_t max_image_bytes = std::size_t{64} << 20;

  // MAT_IMAGES_MODEL (required), MAT_IMAGES_BASE_URL (default OPENAI_BASE_URL, then OpenAI),
  // MAT_IMAGES_SIZE, and the key from MAT_IMAGES_API_KEY or OPENAI_API_KEY. nullopt when
  // MAT_IMAGES_MODEL is not set.
  static std::optional<ImagesConfig> from_env();
};

class OpenAIImagesClient {
 public:
  // Throws core::Error when the base URL is not http(s) or no model is named.
  explicit OpenAIImagesClient(ImagesConfig config);

  using Deadline = std::chrono::steady_clock::time_point;

  // The bytes of a new image drawn from `prompt`. Throws ModelError on failure, naming the
  // server and passing its message on; gives up by `deadline`.
  std::string generate(const std::string& prompt, Deadline deadline) const;
  // The bytes of `image` (a PNG or JPEG file's bytes, called `file_name`) changed as `prompt` says.
  std::string edit(const std::string& prompt, const std::string& image,
                   const std::string& file_name, Deadline deadline) const;

  const ImagesConfig& config() const { return config_; }

 private:
  ImagesConfig config_;
};

}  // namespace mat::llm
