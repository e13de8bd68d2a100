#include "mat/tools/documents/ooxml_parts.h"

#include <vector>

#include "mat/tools/tool.h"

namespace mat::tools::documents {
namespace {

// "word/document.xml" -> "word/_rels/document.xml.rels".
std::string rels_name(std::string_view part) {
  const size_t slash = part.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? "" : part.substr(0, slash + 1);
  const std::string_view base = slash == std::string_view::npos ? part : part.substr(slash + 1);
  return std::string(dir) + "_rels/" + std::string(base) + ".rels";
}

// A target relative to `part`'s folder, or absolute from the archive's root, as a member name.
std::string resolve(std::string_view part, std::string_view target) {
  std::string joined;
  if (!target.empty() && target.front() == '/') {
    joined = target.substr(1);
  } else {
    const size_t slash = part.rfind('/');
    joined = std::string(slash == std::string_view::npos ? "" : part.substr(0, slash + 1)) +
             std::string(target);
  }
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    const std::string segment = joined.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string& segment : segments) out += (out.empty() ? "" : "/") + segment;
  return out;
}

template <typename Visit>
void for_each_relationship(const ZipArchive& archive, std::string_view part, Visit visit) {
  const std::optional<std::string> xml = archive.read(rels_name(part));
  if (!xml) return;
  pugi::xml_document document;
  if (!document.load_buffer(xml->data(), xml->size())) return;
  for (const pugi::xml_node& relationship : document.document_element().children()) {
    if (local_name(relationship) != "Relationship") continue;
    if (std::string_view(relationship.attribute("TargetMode").value()) == "External") continue;
    visit(relationship.attribute("Id").value(), relationship.attribute("Type").value(),
          resolve(part, relationship.attribute("Target").value()));
  }
}

class RunTextWalker : public pugi::xml_tree_walker {
 public:
  explicit RunTextWalker(std::string_view separator) : separator_(separator) {}

  bool for_each(pugi::xml_node& node) override {
    // The walk is pre-order: a subtree being skipped ends at the first node back at its depth.
    if (skip_below_ >= 0 && depth() > skip_below_) return true;
    skip_below_ = -1;
    const std::string_view name = local_name(node);
    if (name == "pPr" || name == "rPh" || name == "Fallback") {
      skip_below_ = depth();
    } else if (name == "t") {
      text += node.text().get();
    } else if (name == "tab") {
      text += '\t';
    } else if (name == "br" || name == "cr") {
      text += '\n';
    } else if (name == "p" && !text.empty()) {
      text += separator_;
    }
    return true;
  }

  std::string text;

 private:
  std::string_view separator_;
  int skip_below_ = -1;
};

}  // namespace

pugi::xml_document parse_part(const ZipArchive& archive, std::string_view name,
                              std::string_view kind, const std::string& file_name) {
  const std::string xml = archive.read_required(name, kind);
  pugi::xml_document document;
  const pugi::xml_parse_result result = document.load_buffer(xml.data(), xml.size());
  if (!result) {
    throw ToolError("'" + file_name + "' is a corrupt " + std::string(kind) + " file: its part '" +
                    std::string(name) + "' is not valid XML (" + result.description() + ")");
  }
  return document;
}

std::map<std::string, std::string> relationships(const ZipArchive& archive, std::string_view part) {
  std::map<std::string, std::string> out;
  for_each_relationship(archive, part, [&](std::string id, std::string_view, std::string target) {
    out.emplace(std::move(id), std::move(target));
  });
  return out;
}

std::string related_part(const ZipArchive& archive, std::string_view part,
                         std::string_view type_suffix) {
  std::string found;
  for_each_relationship(archive, part,
                        [&](std::string_view, std::string_view type, std::string target) {
                          if (found.empty() && type.ends_with(type_suffix))
                            found = std::move(target);
                        });
  return found;
}

std::string_view local_name(const pugi::xml_node& node) {
  const std::string_view name = node.name();
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
  for (const pugi::xml_node& candidate : node.children()) {
    if (local_name(candidate) == name) return candidate;
  }
  return {};
}

pugi::xml_attribute attribute(const pugi::xml_node& node, std::string_view name) {
  for (const pugi::xml_attribute& candidate : node.attributes()) {
    const std::string_view full = candidate.name();
    const size_t colon = full.find(':');
    if ((colon == std::string_view::npos ? full : full.substr(colon + 1)) == name) {
      return candidate;
    }
  }
  return {};
}

std::string_view relationship_id(const pugi::xml_node& node) {
  for (const pugi::xml_attribute& candidate : node.attributes()) {
    const std::string_view full = candidate.name();
    if (full.ends_with(":id")) return candidate.value();
  }
  return "";
}

std::string run_text(const pugi::xml_node& node, std::string_view paragraph_separator) {
  RunTextWalker walker(paragraph_separator);
  // traverse() walks without recursion, so a deeply nested hostile part cannot exhaust the stack.
  pugi::xml_node handle = node;
  handle.traverse(walker);
  return std::move(walker.text);
}

}  // namespace mat::tools::documents
