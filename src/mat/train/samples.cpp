#include "mat/train/samples.h"

#include "mat/core/error.h"

namespace mat::train {
namespace {

// The conversation of one record; throws core::Error naming it.
Conversation conversation_of(const DataRecord& record, const DataOptions& options,
                             SystemPrompts& prompts) {
  if (const auto* trajectory = std::get_if<agent::Trajectory>(&record.content)) {
    return conversation_from_trajectory(*trajectory, record.dir, record.origin,
                                        options.conversation, prompts);
  }
  return conversation_from_mat(std::get<MatConversation>(record.content), record.dir, record.origin,
                               options.conversation);
}

}  // namespace

std::string DataReport::summary(std::int64_t max_len) const {
  std::string text =
      std::to_string(samples) + " sample(s) from " + std::to_string(records) + " record(s)";
  std::vector<std::string> notes;
  const std::string limit = std::to_string(max_len) + " tokens";
  if (truncated > 0) notes.push_back(std::to_string(truncated) + " truncated to " + limit);
  if (skipped_too_long > 0) {
    notes.push_back(std::to_string(skipped_too_long) + " skipped as longer than " + limit);
  }
  if (skipped_no_target > 0) {
    notes.push_back(std::to_string(skipped_no_target) + " skipped without an assistant turn");
  }
  if (!skipped_bad.empty()) {
    notes.push_back(std::to_string(skipped_bad.size()) + " bad record(s) skipped");
  }
  if (dropped_error_steps > 0) {
    notes.push_back(std::to_string(dropped_error_steps) + " error step(s) left out");
  }
  if (dropped_failed_replies > 0) {
    notes.push_back(std::to_string(dropped_failed_replies) +
                    " reply(ies) the model's API broke off left out");
  }
  for (std::size_t i = 0; i < notes.size(); ++i) text += (i == 0 ? ": " : ", ") + notes[i];
  for (const DataProblem& problem : skipped_bad) {
    text += "\n  skipped " + problem.origin + ": " + problem.message;
  }
  return text;
}

DataReport for_each_conversation(const std::filesystem::path& data, const DataOptions& options,
                                 const SampleEncoder* encoder,
                                 const std::function<void(const Conversation&, Sample*)>& visit) {
  if (options.max_len > 0 && encoder == nullptr) {
    throw core::Error("a maximum sample length needs the model's tokenizer (--weights DIR)");
  }
  DataRecords read = read_data_records(data, options.skip_bad_records);
  DataReport report;
  report.records = static_cast<std::int64_t>(read.records.size() + read.skipped.size());
  report.skipped_bad = std::move(read.skipped);
  SystemPrompts prompts(options.system_prompts);
  for (const DataRecord& record : read.records) {
    Conversation conversation;
    Sample sample;
    Fit fit = Fit::kWhole;
    try {
      conversation = conversation_of(record, options, prompts);
      if (encoder != nullptr) {
        fit = encoder->fit(conversation, sample, options.max_len, options.truncate);
      } else if (!has_target(conversation)) {
        fit = Fit::kNoTarget;
      }
    } catch (const core::Error& e) {
      if (!options.skip_bad_records) throw;
      report.skipped_bad.push_back({record.origin, e.what()});
      continue;
    }
    report.dropped_error_steps += conversation.dropped_error_steps;
    report.dropped_failed_replies += conversation.dropped_failed_replies;
    switch (fit) {
      case Fit::kTooLong:
        ++report.skipped_too_long;
        continue;
      case Fit::kNoTarget:
        ++report.skipped_no_target;
        continue;
      case Fit::kTruncated:
        ++report.truncated;
        break;
      case Fit::kWhole:
        break;
    }
    ++report.samples;
    visit(conversation, encoder != nullptr ? &sample : nullptr);
  }
  return report;
}

std::vector<Sample> load_samples(const std::filesystem::path& data, const DataOptions& options,
                                 const SampleEncoder& encoder, DataReport& report) {
  std::vector<Sample> samples;
  report = for_each_conversation(data, options, &encoder, [&](const Conversation&, Sample* sample) {
    samples.push_back(std::move(*sample));
  });
  return samples;
}

}  // namespace mat::train
