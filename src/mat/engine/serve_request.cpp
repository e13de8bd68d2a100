#include "mat/engine/serve_request.h"

#include <limits>
#include <memory>

#include "mat/core/base64.h"
#include "mat/core/image.h"
#include "mat/core/json.h"

namespace mat::engine {

namespace {

using core::Json;

constexpr std::size_t kMaxStops = 16;  // OpenAI allows 4; a local server can afford more

const Json* field(const Json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

double number(const Json& body, const char* name, double low, double high, double fallback) {
  const Json* value = field(body, name);
  if (value == nullptr) return fallback;
  if (!value->is_number()) throw BadRequest(std::string(name) + " must be a number", name);
  const double v = value->get<double>();
  if (v < low || v > high) {
    throw BadRequest(std::string(name) + " must be between " + std::to_string(low) + " and " +
                         std::to_string(high),
                     name);
  }
  return v;
}

int integer(const Json& body, const char* name, int low, int fallback) {
  const Json* value = field(body, name);
  if (value == nullptr) return fallback;
  if (!value->is_number_integer() || value->get<std::int64_t>() < low ||
      value->get<std::int64_t>() > std::numeric_limits<int>::max()) {
    throw BadRequest(std::string(name) + " must be an integer >= " + std::to_string(low), name);
  }
  return value->get<int>();
}

llm::Role role_of(const Json& message, const std::string& where) {
  const Json* role = field(message, "role");
  if (role == nullptr || !role->is_string()) {
    throw BadRequest(where + ".role is missing", where + ".role");
  }
  const std::string name = role->get<std::string>();
  if (name == "system" || name == "developer") return llm::Role::kSystem;
  if (name == "user") return llm::Role::kUser;
  if (name == "assistant") return llm::Role::kAssistant;
  throw BadRequest(where + ".role '" + name + "' is not supported (system, user, assistant)",
                   where + ".role");
}

llm::ContentPart image_part(const Json& part, const std::string& where) {
  const Json* image_url = field(part, "image_url");
  const Json* url = image_url == nullptr     ? nullptr
                    : image_url->is_string() ? image_url
                                             : field(*image_url, "url");
  if (url == nullptr || !url->is_string()) {
    throw BadRequest(where + ".image_url.url is missing", where + ".image_url");
  }
  const std::string& text = url->get_ref<const std::string&>();
  const std::size_t comma = text.find(',');
  if (text.rfind("data:", 0) != 0 || comma == std::string::npos ||
      text.substr(0, comma).find(";base64") == std::string::npos) {
    throw BadRequest(where +
                         ".image_url.url must be a base64 data: URL "
                         "(data:image/png;base64,...); this server does not fetch URLs",
                     where + ".image_url");
  }
  std::optional<std::string> bytes = core::base64_decode(std::string_view(text).substr(comma + 1));
  if (!bytes || bytes->empty()) {
    throw BadRequest(where + ".image_url.url holds no valid base64", where + ".image_url");
  }
  auto image = std::make_shared<core::EncodedImage>();
  image->mime_type = core::sniff_image_mime(*bytes);
  if (image->mime_type.empty()) {
    throw BadRequest(where + ".image_url.url is not a PNG, JPEG, GIF, WebP, BMP or TIFF image",
                     where + ".image_url");
  }
  image->base64 = text.substr(comma + 1);
  return llm::ContentPart::from_image(std::move(image));
}

llm::ChatMessage message_of(const Json& message, const std::string& where) {
  if (!message.is_object()) throw BadRequest(where + " must be an object", where);
  llm::ChatMessage out{role_of(message, where), {}};
  const Json* content = field(message, "content");
  if (content == nullptr) throw BadRequest(where + ".content is missing", where + ".content");
  if (content->is_string()) {
    out.parts.push_back(llm::ContentPart::from_text(content->get<std::string>()));
    return out;
  }
  if (!content->is_array()) {
    throw BadRequest(where + ".content must be a string or an array of parts", where + ".content");
  }
  for (std::size_t i = 0; i < content->size(); ++i) {
    const Json& part = (*content)[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    const Json* type = part.is_object() ? field(part, "type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      throw BadRequest(at + ".type is missing", at + ".type");
    }
    if (*type == "text") {
      const Json* text = field(part, "text");
      if (text == nullptr || !text->is_string()) {
        throw BadRequest(at + ".text must be a string", at + ".text");
      }
      out.parts.push_back(llm::ContentPart::from_text(text->get<std::string>()));
    } else if (*type == "image_url") {
      if (out.role != llm::Role::kUser) {
        throw BadRequest(at + ": images are accepted in user messages only", at);
      }
      out.parts.push_back(image_part(part, at));
    } else {
      throw BadRequest(
          at + ".type '" + type->get<std::string>() + "' is not supported (text, image_url)",
          at + ".type");
    }
  }
  return out;
}

std::vector<std::string> stops_of(const Json& body) {
  const Json* stop = field(body, "stop");
  if (stop == nullptr) return {};
  if (stop->is_string()) return {stop->get<std::string>()};
  std::vector<std::string> out;
  if (stop->is_array() && stop->size() <= kMaxStops) {
    for (const Json& s : *stop) {
      if (!s.is_string() || s.get_ref<const std::string&>().empty()) break;
      out.push_back(s.get<std::string>());
    }
    if (out.size() == stop->size()) return out;
  }
  throw BadRequest("stop must be a string or an array of at most " + std::to_string(kMaxStops) +
                       " non-empty strings",
                   "stop");
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body_text, int default_max_tokens) {
  const std::optional<Json> parsed = core::parse_untrusted_json(body_text);
  if (!parsed || !parsed->is_object()) {
    throw BadRequest("the request body is not a JSON object", "");
  }
  const Json& body = *parsed;
  ChatRequest request;
  const Json* model = field(body, "model");
  if (model == nullptr || !model->is_string()) {
    throw BadRequest("model is missing (GET /v1/models lists the names)", "model");
  }
  request.model = model->get<std::string>();

  const Json* messages = field(body, "messages");
  if (messages == nullptr || !messages->is_array() || messages->empty()) {
    throw BadRequest("messages must be a non-empty array", "messages");
  }
  for (std::size_t i = 0; i < messages->size(); ++i) {
    request.messages.push_back(message_of((*messages)[i], "messages[" + std::to_string(i) + "]"));
  }

  for (const char* unsupported : {"tools", "functions", "response_format", "logit_bias"}) {
    if (field(body, unsupported) != nullptr) {
      throw BadRequest(std::string(unsupported) + " is not supported by mat serve", unsupported);
    }
  }
  if (const Json* logprobs = field(body, "logprobs");
      logprobs != nullptr && !(logprobs->is_boolean() && !logprobs->get<bool>())) {
    throw BadRequest("logprobs is not supported by mat serve", "logprobs");
  }
  if (integer(body, "n", 1, 1) != 1) throw BadRequest("n must be 1", "n");

  SamplingParams& p = request.params;
  p.max_tokens =
      integer(body, "max_completion_tokens", 0, integer(body, "max_tokens", 0, default_max_tokens));
  p.temperature = number(body, "temperature", 0, 2, 1.0);
  p.top_p = number(body, "top_p", 0, 1, 1.0);
  p.top_k = integer(body, "top_k", 0, 0);
  p.repetition_penalty = number(body, "repetition_penalty", 0.01, 10, 1.0);
  if (const Json* seed = field(body, "seed")) {
    if (!seed->is_number_integer()) throw BadRequest("seed must be an integer", "seed");
    p.seed = static_cast<std::uint64_t>(seed->get<std::int64_t>());
  }
  p.stop = stops_of(body);

  if (const Json* stream = field(body, "stream")) {
    if (!stream->is_boolean()) throw BadRequest("stream must be true or false", "stream");
    request.stream = stream->get<bool>();
  }
  if (const Json* options = field(body, "stream_options")) {
    const Json* usage = options->is_object() ? field(*options, "include_usage") : nullptr;
    request.include_usage = usage != nullptr && usage->is_boolean() && usage->get<bool>();
  }
  return request;
}

}  // namespace mat::engine
