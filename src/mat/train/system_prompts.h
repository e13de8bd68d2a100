// The system prompt a trajectory record was made with, for training on the record: the exact
// text when it is known (a `mat synth` run keeps it per prompt version), otherwise rendered again
// by the agent's one prompt renderer from the record's prompt version and tool list.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mat/agent/prompt.h"
#include "mat/agent/trajectory.h"

namespace mat::train {

struct SystemPromptOptions {
  std::optional<std::string> fixed;               // every record's system prompt (a user's file)
  std::map<std::string, std::string> by_version;  // exact texts by prompt version
  std::optional<agent::PromptTemplate> template_file;  // for records made with a template file
  std::vector<std::string> authorized_imports;         // empty = the sandbox's default list
};

class SystemPrompts {
 public:
  explicit SystemPrompts(SystemPromptOptions options = {});

  // Throws core::Error naming the record when its prompt version is unknown here, was a template
  // file that was not given, or its tool list names a tool mat does not have.
  const std::string& of(const agent::Trajectory& record);

 private:
  std::string render(const agent::Trajectory& record) const;

  SystemPromptOptions options_;
  std::map<std::string, std::string> rendered_;  // by prompt version and tool list
};

}  // namespace mat::train
