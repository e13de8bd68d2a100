#include "mat/llm/openai_wire.h"

#include <cstdint>
#include <functional>

namespace mat::llm {

namespace {

// What goes in an image part's "url": the data URL itself, or a placeholder for it.
using ImageUrl = std::function<std::string(const core::EncodedImage&)>;

core::Json content_json(const ChatMessage& message, const ImageUrl& image_url) {
  if (message.parts.empty()) return "";
  if (message.parts.size() == 1 && !message.parts.front().is_image()) {
    return message.parts.front().text;
  }
  core::Json parts = core::Json::array();
  for (const ContentPart& part : message.parts) {
    if (part.is_image()) {
      parts.push_back({{"type", "image_url"}, {"image_url", {{"url", image_url(*part.image)}}}});
    } else {
      parts.push_back({{"type", "text"}, {"text", part.text}});
    }
  }
  return parts;
}

// Servers differ in which fields they fill: treat anything but a number as absent.
std::int64_t int_field(const core::Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

std::string string_field(const core::Json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void read_usage(const core::Json& object, Usage& usage) {
  const auto it = object.find("usage");
  if (it == object.end() || !it->is_object()) return;
  usage.prompt_tokens = int_field(*it, "prompt_tokens");
  usage.completion_tokens = int_field(*it, "completion_tokens");
}

// The error an error body or error event carries, or nullopt when `value` has none.
std::optional<std::string> error_message_in(const core::Json& value) {
  if (!value.is_object()) return std::nullopt;
  for (const char* key : {"error", "message", "detail"}) {
    const auto it = value.find(key);
    if (it == value.end() || it->is_null()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("message")) return error_message_in(*it);
    return it->dump();
  }
  return std::nullopt;
}

core::Json parse_json(std::string_view text, const char* what) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw MalformedResponse(std::string(what) + " is empty");
  }
  std::optional<core::Json> value = core::parse_untrusted_json(text);
  if (!value) {
    throw MalformedResponse(std::string(what) + " is not JSON (or nests more than " +
                            std::to_string(core::kMaxJsonDepth) + " deep): " + excerpt(text));
  }
  return std::move(*value);
}

core::Json request_body(std::string_view model, const std::vector<ChatMessage>& messages,
                        const GenerationParams& params, bool stream, const ImageUrl& image_url) {
  core::Json body = {{"model", model}, {"messages", core::Json::array()}};
  for (const ChatMessage& message : messages) {
    body["messages"].push_back(
        {{"role", role_name(message.role)}, {"content", content_json(message, image_url)}});
  }
  if (!params.stop.empty()) body["stop"] = params.stop;
  if (params.temperature) body["temperature"] = *params.temperature;
  if (params.top_p) body["top_p"] = *params.top_p;
  if (params.max_tokens) body["max_tokens"] = *params.max_tokens;
  if (params.seed) body["seed"] = *params.seed;
  body["stream"] = stream;
  if (stream) body["stream_options"] = {{"include_usage", true}};
  return body;
}

}  // namespace

core::Json build_chat_request_body(std::string_view model, const std::vector<ChatMessage>& messages,
                                   const GenerationParams& params, bool stream) {
  return request_body(model, messages, params, stream,
                      [](const core::EncodedImage& image) { return image.data_url(); });
}

std::string serialize_chat_request(std::string_view model, const std::vector<ChatMessage>& messages,
                                   const GenerationParams& params, bool stream) {
  // Images are most of a request's bytes (a photo is about a megabyte of base64) and the same at
  // every step. Base64 never needs JSON escaping, so serialise short placeholders and splice the
  // data URLs in afterwards: the serializer's per-byte UTF-8 checks cost ~5 ms per megabyte.
  constexpr std::string_view kPlaceholder = "mat-image-placeholder-";
  std::vector<const core::EncodedImage*> images;
  const core::Json body =
      request_body(model, messages, params, stream, [&](const core::EncodedImage& image) {
        images.push_back(&image);
        return std::string(kPlaceholder) + std::to_string(images.size() - 1);
      });
  // Text from tools or files may hold invalid UTF-8: send U+FFFD rather than fail the request.
  const std::string text = body.dump(-1, ' ', false, core::Json::error_handler_t::replace);
  size_t total = text.size();
  for (const core::EncodedImage* image : images) total += image->base64.size() + 64;
  std::string out;
  out.reserve(total);
  size_t from = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    // The quotes make the match exact: in text, a quote before the placeholder would be escaped.
    const std::string quoted = "\"" + std::string(kPlaceholder) + std::to_string(i) + "\"";
    const size_t at = text.find(quoted, from);
    out.append(text, from, at - from);
    out += "\"data:";
    out += images[i]->mime_type;
    out += ";base64,";
    out += images[i]->base64;
    out += '"';
    from = at + quoted.size();
  }
  out.append(text, from);
  return out;
}

ChatResult parse_chat_completion(std::string_view body) {
  const core::Json reply = parse_json(body, "the reply");
  const auto choices = reply.is_object() ? reply.find("choices") : reply.end();
  if (choices == reply.end() || !choices->is_array() || choices->empty() ||
      !choices->front().is_object() || !choices->front().contains("message")) {
    if (const auto error = error_message_in(reply)) {
      throw MalformedResponse("the reply is an error instead of a completion: " + *error);
    }
    throw MalformedResponse("the reply has no choices[0].message: " + excerpt(body));
  }
  const core::Json& choice = choices->front();
  const core::Json& message = choice["message"];
  ChatResult result;
  if (message.is_object()) result.text = string_field(message, "content");
  result.finish_reason = string_field(choice, "finish_reason");
  read_usage(reply, result.usage);
  return result;
}

std::string server_error_message(std::string_view body) {
  const std::optional<core::Json> value = core::parse_untrusted_json(body);
  if (value) {
    if (const auto message = error_message_in(*value)) return *message;
  }
  return excerpt(body);
}

std::string excerpt(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (char c : text.substr(0, max_chars)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (text.size() > max_chars) out += "...";
  // Error messages end up in JSON records: replace invalid UTF-8 (binary garbage, a character cut
  // at max_chars) as nlohmann does, so that the message always serialises.
  const std::string literal =
      core::Json(out).dump(-1, ' ', false, core::Json::error_handler_t::replace);
  return core::Json::parse(literal).get<std::string>();
}

bool ChatStreamReader::feed(std::string_view bytes) {
  if (!saw_event_) body_before_events_.append(bytes);
  for (const std::string& data : parser_.feed(bytes)) {
    take_event(data);
    if (done_) return false;
  }
  return true;
}

ChatResult ChatStreamReader::finish() {
  if (!done_) {
    if (const auto data = parser_.finish()) take_event(*data);
  }
  if (saw_event_) return result_;
  ChatResult whole = parse_chat_completion(body_before_events_);
  done_ = true;  // a whole completion is complete by definition
  if (on_token_ && !whole.text.empty()) {
    delivered_text_ = true;
    on_token_(whole.text);
  }
  return whole;
}

void ChatStreamReader::take_event(const std::string& data) {
  if (!saw_event_) {
    saw_event_ = true;
    body_before_events_.clear();
    body_before_events_.shrink_to_fit();
  }
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  const core::Json chunk = parse_json(data, "a streamed chunk");
  if (chunk.is_object() && chunk.contains("error") && !chunk["error"].is_null()) {
    server_error_ = error_message_in(chunk).value_or(chunk["error"].dump());
    done_ = true;
    return;
  }
  read_usage(chunk, result_.usage);
  const auto choices = chunk.is_object() ? chunk.find("choices") : chunk.end();
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;
  const core::Json& choice = choices->front();
  if (!choice.is_object()) return;
  if (const std::string reason = string_field(choice, "finish_reason"); !reason.empty()) {
    result_.finish_reason = reason;
  }
  const auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return;
  const std::string piece = string_field(*delta, "content");
  if (piece.empty()) return;
  result_.text += piece;
  if (on_token_) {
    delivered_text_ = true;
    on_token_(piece);
  }
}

}  // namespace mat::llm
