// Converts a document's bytes to markdown the model can read (the converters behind the
// `inspect_file_as_text` tool): pdf, docx, pptx, xlsx, csv/tsv, txt/md, json, xml, html and zip.
// The bytes come from the sandbox's work dir, so every format is parsed as hostile input: archives
// are checked against the limits before anything is inflated, and the output is valid UTF-8.
#pragma once

#include <cstddef>
#include <string>

namespace mat::tools {

struct DocumentLimits {
  size_t max_chars = 40'000;              // characters of markdown returned; the rest is cut
  size_t max_file_bytes = 64 << 20;       // the document itself
  size_t max_unpacked_bytes = 256 << 20;  // everything an archive (docx, xlsx, zip...) unpacks to
  size_t max_zip_entries = 10'000;        // members of one archive
};

struct Document {
  std::string markdown;    // ends with a "[… truncated: …]" line when cut at max_chars
  bool truncated = false;  // the markdown was cut at max_chars
  std::string format;      // what it was read as: "pdf", "docx", "csv", "text", ...
};

// Chooses the format by `file_name`'s extension and the bytes' magic numbers. Throws ToolError,
// with a message the model can act on, when the file is empty, corrupt, an image (the visualizer
// tool reads those), of an unsupported type, or over a limit.
Document document_to_markdown(const std::string& bytes, const std::string& file_name,
                              const DocumentLimits& limits = {});

}  // namespace mat::tools
