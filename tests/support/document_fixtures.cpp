#include "support/document_fixtures.h"

#include <algorithm>
#include <cstdio>

namespace mat::testing {

std::string make_pdf(const std::vector<std::string>& pages) {
  const size_t font = 3 + 2 * pages.size();
  std::vector<std::string> objects = {"<< /Type /Catalog /Pages 2 0 R >>"};
  std::string kids;
  for (size_t i = 0; i < pages.size(); ++i) kids += std::to_string(3 + 2 * i) + " 0 R ";
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages.size()) +
                    " >>");
  for (size_t i = 0; i < pages.size(); ++i) {
    objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents " +
                      std::to_string(4 + 2 * i) + " 0 R /Resources << /Font << /F1 " +
                      std::to_string(font) + " 0 R >> >> >>");
    // Each line of the page on a line of its own, 14 points apart.
    std::string content = "BT /F1 11 Tf 14 TL 72 740 Td";
    size_t start = 0;
    while (start <= pages[i].size()) {
      const size_t end = std::min(pages[i].find('\n', start), pages[i].size());
      content += " (" + pages[i].substr(start, end - start) + ") Tj T*";
      start = end + 1;
    }
    content += " ET";
    objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
                      "\nendstream");
  }
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (const size_t offset : offsets) {
    char entry[21];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

}  // namespace mat::testing
