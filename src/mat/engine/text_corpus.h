// The text files of a training corpus (files and folders, e.g. /usr/lib/python3.11 and the
// project's prompts/), read with a byte budget: what the tokenizer trainer counts words in and
// what pretraining cuts into token windows. Torch-free.
//
//   CorpusStats stats = for_each_corpus_text({"/usr/lib/python3.11"}, {.max_bytes = 8 << 20},
//                                            [](const auto& path, std::string_view text) {...});
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

namespace mat::engine {

struct CorpusOptions {
  std::size_t max_bytes = 16u << 20;      // stop once this much text has been read
  std::size_t max_file_bytes = 1u << 20;  // a longer file is cut at its last line break before
};

struct CorpusStats {
  std::size_t files = 0;    // text files read
  std::size_t bytes = 0;    // bytes of text given to the callback
  std::size_t skipped = 0;  // files that are not UTF-8 text (binary, other encodings, unreadable)
};

using CorpusText = std::function<void(const std::filesystem::path& file, std::string_view text)>;

// Calls `text` with the contents of every text file (valid UTF-8 without NUL bytes) among
// `paths` and, recursively, inside the folders among them, until `max_bytes` is reached. The
// smallest paths are read first, so that small must-haves (the agent's prompts, the tool
// descriptions) are read whole however large the rest is; the files of a folder in a fixed
// shuffle (a hash of each path inside it), so that a budget smaller than the folder samples all of
// it rather than its alphabetically first part. The same corpus always gives the same texts, in
// whichever folder it lies.
// Throws core::Error when a path does not exist or no text file is found.
CorpusStats for_each_corpus_text(const std::vector<std::filesystem::path>& paths,
                                 const CorpusOptions& options, const CorpusText& text);

}  // namespace mat::engine
