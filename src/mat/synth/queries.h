// The `queries` stage: a batch of new queries from in-context examples drawn from the shipped
// seed set, the run's tools and file types; duplicates (normalised text) removed by the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mat/core/json.h"
#include "mat/synth/store.h"

namespace mat::synth {

// The file types a query may name.
const std::vector<std::string>& known_file_types();

// The seed set `json` (an array of {"query", "tools", "files"}). Throws core::Error naming the
// entry that is malformed.
std::vector<QuerySpec> parse_seeds(const std::string& json);

// Checks a `queries` reply: {"queries": [{"query": str, "tools": [str], "files": [str]}]}, file
// types from known_file_types(), at least one query.
std::optional<std::string> check_queries(const core::Json& value);
std::vector<QuerySpec> queries_from(const core::Json& value);  // of a checked reply

// `count` seeds for batch `batch` of a run with `seed`: a deterministic draw without repeats.
std::vector<QuerySpec> draw_examples(const std::vector<QuerySpec>& seeds, std::uint64_t seed,
                                     std::int64_t batch, int count);

// The user message of a queries request.
std::string queries_prompt(const std::string& template_text, const std::vector<QuerySpec>& examples,
                           const std::vector<std::string>& tools, int count);

}  // namespace mat::synth
