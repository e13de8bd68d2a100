#include "mat/synth/queries.h"

#include <algorithm>
#include <random>

#include "mat/core/error.h"
#include "mat/synth/prompts.h"

namespace mat::synth {
namespace {

using core::Json;

std::string joined(const std::vector<std::string>& values, const char* separator) {
  std::string text;
  for (const std::string& value : values) {
    if (!text.empty()) text += separator;
    text += value;
  }
  return text;
}

std::optional<std::string> check_strings(const Json& entry, const char* field, size_t index) {
  const auto it = entry.find(field);
  if (it == entry.end() || !it->is_array()) {
    return "queries[" + std::to_string(index) + "]." + field + " must be a list of strings";
  }
  for (const Json& value : *it) {
    if (!value.is_string()) {
      return "queries[" + std::to_string(index) + "]." + field + " must hold only strings";
    }
  }
  return std::nullopt;
}

QuerySpec spec_from(const Json& entry) {
  return {entry["query"].get<std::string>(), entry["tools"].get<std::vector<std::string>>(),
          entry["files"].get<std::vector<std::string>>()};
}

}  // namespace

const std::vector<std::string>& known_file_types() {
  static const std::vector<std::string> types{"image", "pdf",  "docx", "xlsx", "pptx", "csv", "txt",
                                              "json",  "html", "xml",  "zip",  "py",   "md"};
  return types;
}

std::optional<std::string> check_queries(const Json& value) {
  if (!value.is_object()) return "the reply must be a JSON object with a \"queries\" list";
  const auto list = value.find("queries");
  if (list == value.end() || !list->is_array()) return "\"queries\" must be a list";
  if (list->empty()) return "\"queries\" is empty";
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& entry = (*list)[i];
    if (!entry.is_object()) return "queries[" + std::to_string(i) + "] must be an object";
    const auto query = entry.find("query");
    if (query == entry.end() || !query->is_string() || normalised_text(*query).empty()) {
      return "queries[" + std::to_string(i) + "].query must be a non-empty string";
    }
    if (auto problem = check_strings(entry, "tools", i)) return problem;
    if (auto problem = check_strings(entry, "files", i)) return problem;
    for (const Json& type : entry["files"]) {
      const auto& types = known_file_types();
      if (std::find(types.begin(), types.end(), type.get<std::string>()) == types.end()) {
        return "queries[" + std::to_string(i) + "].files holds \"" + type.get<std::string>() +
               "\", which is not one of: " + joined(types, ", ");
      }
    }
  }
  return std::nullopt;
}

std::vector<QuerySpec> queries_from(const Json& value) {
  std::vector<QuerySpec> specs;
  for (const Json& entry : value["queries"]) specs.push_back(spec_from(entry));
  return specs;
}

std::vector<QuerySpec> parse_seeds(const std::string& json) {
  const Json value = Json::parse(json, nullptr, false);
  if (value.is_discarded() || !value.is_array()) {
    throw core::Error("the seed set is not a JSON array of queries");
  }
  const Json wrapped = {{"queries", value}};
  if (auto problem = check_queries(wrapped)) throw core::Error("the seed set: " + *problem);
  return queries_from(wrapped);
}

std::vector<QuerySpec> draw_examples(const std::vector<QuerySpec>& seeds, std::uint64_t seed,
                                     std::int64_t batch, int count) {
  std::vector<size_t> order(seeds.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(seed * 1'000'003ULL + static_cast<std::uint64_t>(batch));
  // A Fisher-Yates shuffle written out: std::shuffle's result differs between libraries.
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[rng() % i]);
  }
  std::vector<QuerySpec> examples;
  for (size_t i = 0; i < order.size() && static_cast<int>(examples.size()) < count; ++i) {
    examples.push_back(seeds[order[i]]);
  }
  return examples;
}

std::string queries_prompt(const std::string& template_text, const std::vector<QuerySpec>& examples,
                           const std::vector<std::string>& tools, int count) {
  std::string lines;
  for (const QuerySpec& example : examples) {
    lines +=
        Json{{"query", example.query}, {"tools", example.tools}, {"files", example.files}}.dump() +
        "\n";
  }
  std::string tool_lines;
  for (const std::string& tool : tools) tool_lines += "- " + tool + "\n";
  return fill(template_text, {{"count", std::to_string(count)},
                              {"tools", tool_lines},
                              {"file_types", joined(known_file_types(), ", ")},
                              {"examples", lines}});
}

}  // namespace mat::synth
