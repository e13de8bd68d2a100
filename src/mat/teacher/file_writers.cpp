#include "mat/teacher/file_writers.h"

#include "mat/core/error.h"

namespace mat::teacher {
namespace {

// A JSON string is a Python string literal too (the texts here are plain ASCII).
std::string quoted(const std::string& text) {
  return core::Json(text).dump();
}

constexpr const char* kDocxParts = R"(content_types = ('<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>')
rels = ('<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    '</Relationships>')
body = "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % line for line in lines)
document = ('<?xml version="1.0" encoding="UTF-8"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:body>' + body + '</w:body></w:document>')
)";

}  // namespace

std::string table_writer(const std::string& name, const std::string& type, const core::Json& rows) {
  const std::string head = "rows = " + rows.dump() + "\n";
  if (type == "csv") {
    return "import csv\n" + head + "with open(" + quoted(name) +
           ", \"w\", newline=\"\") as out:\n    csv.writer(out).writerows(rows)\n";
  }
  if (type == "xlsx") {
    return "import openpyxl\n" + head +
           "book = openpyxl.Workbook()\nfor row in rows:\n    book.active.append(row)\n"
           "book.save(" +
           quoted(name) + ")\n";
  }
  throw core::Error("the teacher writes tables as csv or xlsx, not " + type);
}

std::string text_writer(const std::string& name, const std::string& type,
                        const std::vector<std::string>& lines) {
  const std::string head = "lines = " + core::Json(lines).dump() + "\n";
  if (type == "txt") {
    return head + "with open(" + quoted(name) +
           ", \"w\") as out:\n    out.write(\"\\n\".join(lines) + \"\\n\")\n";
  }
  if (type == "docx") {
    return "import zipfile\n" + head + kDocxParts + "with zipfile.ZipFile(" + quoted(name) +
           ", \"w\") as archive:\n"
           "    archive.writestr(\"[Content_Types].xml\", content_types)\n"
           "    archive.writestr(\"_rels/.rels\", rels)\n"
           "    archive.writestr(\"word/document.xml\", document)\n";
  }
  if (type == "pdf") {
    // TrueType fonts (not matplotlib's default Type 3), so that the text can be extracted.
    return "import matplotlib\nmatplotlib.use(\"Agg\")\nmatplotlib.rcParams[\"pdf.fonttype\"] = "
           "42\nimport matplotlib.pyplot as plt\nfrom matplotlib.backends.backend_pdf import "
           "PdfPages\n" +
           head + "with PdfPages(" + quoted(name) +
           ") as pdf:\n    figure = plt.figure(figsize=(6, 4))\n    for i, line in "
           "enumerate(lines):\n        figure.text(0.1, 0.9 - i * 0.08, line, fontsize=12)\n"
           "    pdf.savefig(figure)\n";
  }
  throw core::Error("the teacher writes text documents as docx, pdf or txt, not " + type);
}

}  // namespace mat::teacher
