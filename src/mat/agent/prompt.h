// The one prompt renderer, used identically for data generation, training and evaluation.
// Templates are text files (prompts/ in the source tree, embedded into the binary) with two
// placeholders: the tool list, as {{tools}} (each tool with its inputs described), as
// {{tool_signatures}} (each as a Python signature and its description: half the length, for small
// controllers) or as {{tool_calls}} (the signatures alone, for controllers that learn the tools
// from trajectories rather than from their documentation), and {{authorized_imports}}.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "mat/tools/registry.h"

namespace mat::agent {

inline constexpr std::string_view kDefaultPromptVersion = "t3-v2";
// Generation stops at the end marker; "Observation:" catches models that start inventing one.
inline constexpr std::string_view kEndMarker = "<end_action>";
std::vector<std::string> step_stop_sequences();

struct PromptTemplate {
  std::string version;  // recorded in every trajectory
  std::string text;

  // A template shipped inside the binary ("t3-v2"; "t3-v1" for data made with the first
  // wording). Throws core::Error for an unknown version.
  static PromptTemplate builtin(std::string_view version = kDefaultPromptVersion);
  // A user's template file (e.g. the wording a checkpoint was trained with). Its version is
  // "file:<name>@<content hash>", so trajectories say exactly which wording produced them.
  static PromptTemplate from_file(const std::filesystem::path& path);
};

// The system prompt: the template with the tool list and the importable modules filled in.
std::string render_system_prompt(const PromptTemplate& prompt, const tools::ToolRegistry& registry,
                                 const std::vector<std::string>& authorized_imports);

// One tool as the model reads it in the system prompt: in full ({{tools}}), as
// "- name(input: type) -> type: description" ({{tool_signatures}}), or as
// "- name(input: type) -> type" ({{tool_calls}}).
std::string describe_tool(const tools::ToolSpec& spec);
std::string describe_tool_briefly(const tools::ToolSpec& spec);
std::string describe_tool_call(const tools::ToolSpec& spec);

}  // namespace mat::agent
