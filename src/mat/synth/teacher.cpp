#include "mat/synth/teacher.h"

#include <cstdint>
#include <cstdio>
#include <utility>

#include "mat/core/error.h"

namespace mat::synth {
namespace {

using core::Json;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string request_text(const std::vector<llm::ChatMessage>& messages) {
  std::string text;
  for (const llm::ChatMessage& message : messages) {
    text += "[";
    text += llm::role_name(message.role);
    text += "]\n";
    text += message.joined_text();
    text += "\n";
  }
  return text;
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

class RecordingModel : public llm::ChatModel {
 public:
  RecordingModel(llm::ChatModel& inner, CallContext context)
      : inner_(inner), context_(std::move(context)) {}

  llm::ChatResult chat(const std::vector<llm::ChatMessage>& messages,
                       const llm::GenerationParams& params,
                       const llm::TokenCallback& on_token) override {
    CallRecord call;
    call.stage = context_.stage;
    call.task = context_.task;
    call.batch = context_.batch;
    call.attempt = ++calls_;
    call.request_key = request_key(context_.stage, messages, params);
    // A run's history grows by a turn or two per call: keep what is new since the last call,
    // not the whole history again (a 20K-task run would store it quadratically).
    size_t known = 0;
    while (known < messages.size() && known < previous_.size() &&
           messages[known].role == previous_[known].first &&
           messages[known].joined_text() == previous_[known].second) {
      ++known;
    }
    const std::vector<llm::ChatMessage> fresh(messages.begin() + static_cast<long>(known),
                                              messages.end());
    call.request = (known > 0 ? "[the first " + std::to_string(known) +
                                    " messages as in the previous call, then]\n"
                              : std::string()) +
                   request_text(fresh);
    previous_.clear();
    for (const llm::ChatMessage& message : messages) {
      previous_.emplace_back(message.role, message.joined_text());
    }
    try {
      llm::ChatResult result = inner_.chat(messages, params, on_token);
      call.reply = result.text;
      call.tokens_in = result.usage.prompt_tokens;
      call.tokens_out = result.usage.completion_tokens;
      if (context_.store != nullptr) context_.store->log_call(call);
      return result;
    } catch (const llm::ModelError& error) {
      call.error = std::string("the teacher failed: ") + error.what();
      if (context_.store != nullptr) context_.store->log_call(call);
      throw;
    }
  }
  llm::ModelIdentity identity() const override { return inner_.identity(); }

 private:
  llm::ChatModel& inner_;
  CallContext context_;
  int calls_ = 0;
  std::vector<std::pair<llm::Role, std::string>> previous_;  // of the last call
};

}  // namespace

std::unique_ptr<llm::ChatModel> recording_model(llm::ChatModel& inner, CallContext context) {
  return std::make_unique<RecordingModel>(inner, std::move(context));
}

std::shared_ptr<llm::ChatModel> make_stage_model(llm::OpenAIConfig config,
                                                 const std::string& name) {
  config.extra_headers.emplace_back(kStageHeader, name);
  return std::make_shared<llm::OpenAIChatModel>(std::move(config));
}

Extracted extract_json(std::string_view reply) {
  std::string_view body = trim(reply);
  if (std::optional<Json> whole = core::parse_untrusted_json(body)) return {std::move(whole), ""};
  const auto fence = body.find("```");
  if (fence != std::string_view::npos) {
    const auto second = body.find("```", fence + 3);
    if (second == std::string_view::npos) {
      return {std::nullopt, "the reply opens a ``` fence but never closes it"};
    }
    if (body.find("```", second + 3) != std::string_view::npos) {
      return {std::nullopt, "the reply holds more than one ``` fence; send exactly one JSON value"};
    }
    std::string_view inside = body.substr(fence + 3, second - fence - 3);
    const auto newline = inside.find('\n');
    const std::string_view tag = trim(inside.substr(0, newline));
    if (tag == "json" || tag == "JSON") {
      inside = newline == std::string_view::npos ? std::string_view{} : inside.substr(newline + 1);
    } else if (!tag.empty() && tag.front() != '{' && tag.front() != '[') {
      return {std::nullopt, "the reply's fence is ```" + std::string(tag) + ", not ```json"};
    }
    body = trim(inside);
  }
  if (body.empty()) return {std::nullopt, "the reply holds no JSON value"};
  std::optional<Json> value = core::parse_untrusted_json(body);
  if (!value) {
    try {
      const Json ignored = Json::parse(body);
    } catch (const Json::exception& error) {
      return {std::nullopt, std::string("the reply is not valid JSON: ") + error.what()};
    }
    return {std::nullopt, "the reply is not valid JSON (nested too deeply)"};
  }
  return {std::move(value), ""};
}

TeacherAnswer ask_json(llm::ChatModel& model, std::vector<llm::ChatMessage> messages,
                       const llm::GenerationParams& params, const ShapeCheck& check,
                       int max_attempts, const CallContext& context) {
  TeacherAnswer answer;
  for (int attempt = 1; attempt <= std::max(1, max_attempts); ++attempt) {
    answer.attempts = attempt;
    CallRecord call;
    call.stage = context.stage;
    call.task = context.task;
    call.batch = context.batch;
    call.attempt = attempt;
    call.request = request_text(messages);
    call.request_key = request_key(context.stage, messages, params);
    llm::ChatResult result;
    try {
      result = model.chat(messages, params);
    } catch (const llm::ModelError& error) {
      call.error = std::string("the teacher failed: ") + error.what();
      if (context.store != nullptr) context.store->log_call(call);
      if (error.retryable()) throw;  // the teacher is down, not this task wrong: not recorded
      answer.error = call.error;
      return answer;
    }
    answer.tokens_in += result.usage.prompt_tokens;
    answer.tokens_out += result.usage.completion_tokens;
    call.reply = result.text;
    call.tokens_in = result.usage.prompt_tokens;
    call.tokens_out = result.usage.completion_tokens;
    Extracted extracted = extract_json(result.text);
    std::optional<std::string> problem;
    if (!extracted.value) {
      problem = extracted.error;
    } else if (check) {
      problem = check(*extracted.value);
    }
    if (!problem) {
      if (context.store != nullptr) context.store->log_call(call);
      answer.value = std::move(extracted.value);
      answer.error.clear();
      return answer;
    }
    answer.error = *problem;
    call.error = *problem;
    if (context.store != nullptr) context.store->log_call(call);
    messages.push_back(llm::ChatMessage::text(llm::Role::kAssistant, result.text));
    messages.push_back(llm::ChatMessage::text(
        llm::Role::kUser, "Your reply could not be used: " + *problem +
                              ". Reply again with exactly one JSON value of the shape asked for, "
                              "and nothing else."));
  }
  answer.error = "no usable reply after " + std::to_string(answer.attempts) +
                 " attempts; last problem: " + answer.error;
  return answer;
}

std::string request_key(const std::string& stage, const std::vector<llm::ChatMessage>& messages,
                        const llm::GenerationParams& params) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  hash = fnv1a(hash, stage);
  hash = fnv1a(hash, std::string_view("\0", 1));
  hash = fnv1a(hash, params.seed ? std::to_string(*params.seed) : "-");
  hash = fnv1a(hash, std::string_view("\0", 1));
  hash = fnv1a(hash, request_text(messages));
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::optional<std::string> check_verdict(const Json& value, bool updated_query) {
  if (!value.is_object()) return "the reply must be a JSON object";
  const auto verdict = value.find("verdict");
  if (verdict == value.end() || !verdict->is_string() || (*verdict != "yes" && *verdict != "no")) {
    return "\"verdict\" must be \"yes\" or \"no\"";
  }
  const auto reason = value.find("reason");
  if (reason == value.end() || !reason->is_string()) return "\"reason\" must be a string";
  if (updated_query) {
    const auto update = value.find("updated_query");
    if (update != value.end() && !update->is_null() && !update->is_string()) {
      return "\"updated_query\" must be a string or null";
    }
  }
  return std::nullopt;
}

}  // namespace mat::synth
