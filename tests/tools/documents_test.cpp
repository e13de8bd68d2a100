// The inputs are built here for real: OOXML packages zipped with libzip from minimal parts, a PDF
// written by hand with a correct cross-reference table, archives that lie about their sizes.
#include "mat/tools/documents.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

#include "mat/tools/tool.h"
#include "support/document_fixtures.h"

namespace mat::tools {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

using Members = std::vector<std::pair<std::string, std::string>>;

// Zips `members` in memory with libzip.
std::string make_zip(const Members& members) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) throw std::runtime_error("zip_open_from_source failed");
  zip_source_keep(buffer);
  for (const auto& [name, bytes] : members) {
    zip_source_t* member = zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    if (member == nullptr || zip_file_add(archive, name.c_str(), member, ZIP_FL_ENC_UTF_8) < 0) {
      throw std::runtime_error("zip_file_add failed for " + name);
    }
  }
  if (zip_close(archive) != 0) throw std::runtime_error("zip_close failed");
  zip_stat_t stat;
  zip_source_stat(buffer, &stat);
  std::string out(stat.size, '\0');
  zip_source_open(buffer);
  zip_source_read(buffer, out.data(), out.size());
  zip_source_close(buffer);
  zip_source_free(buffer);
  return out;
}

constexpr const char* kXmlHeader = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)";
constexpr const char* kRelsNs = "http://schemas.openxmlformats.org/package/2006/relationships";
constexpr const char* kRelType =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/";

std::string content_types(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::string xml =
      std::string(kXmlHeader) +
      R"(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">)"
      R"(<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>)"
      R"(<Default Extension="xml" ContentType="application/xml"/>)";
  for (const auto& [part, type] : overrides) {
    xml += R"(<Override PartName=")" + part +
           R"(" ContentType="application/vnd.openxmlformats-officedocument.)" + type + R"("/>)";
  }
  return xml + "</Types>";
}

// id, type (the last segment of the relationship type URI), target.
std::string rels(const std::vector<std::array<std::string, 3>>& relationships) {
  std::string xml = std::string(kXmlHeader) + R"(<Relationships xmlns=")" + kRelsNs + R"(">)";
  for (const auto& [id, type, target] : relationships) {
    xml += R"(<Relationship Id=")" + id + R"(" Type=")" + kRelType + type + R"(" Target=")" +
           target + R"("/>)";
  }
  return xml + "</Relationships>";
}

constexpr const char* kWordNs =
    R"(xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main")";

std::string word_paragraph(const std::string& text, const std::string& style = "",
                           bool listed = false) {
  std::string properties;
  if (!style.empty()) properties += R"(<w:pStyle w:val=")" + style + R"("/>)";
  if (listed) properties += R"(<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>)";
  if (!properties.empty()) properties = "<w:pPr>" + properties + "</w:pPr>";
  return "<w:p>" + properties + R"(<w:r><w:t xml:space="preserve">)" + text + "</w:t></w:r></w:p>";
}

std::string word_cell(const std::string& text, int span = 1) {
  const std::string properties =
      span > 1 ? R"(<w:tcPr><w:gridSpan w:val=")" + std::to_string(span) + R"("/></w:tcPr>)" : "";
  return "<w:tc>" + properties + word_paragraph(text) + "</w:tc>";
}

std::string make_docx() {
  const std::string styles =
      std::string(kXmlHeader) + "<w:styles " + kWordNs + ">" +
      R"(<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>)"
      // A localized id: only the style's name says it is a heading.
      R"(<w:style w:type="paragraph" w:styleId="Ueberschrift2"><w:name w:val="heading 2"/></w:style>)"
      "</w:styles>";
  const std::string body =
      word_paragraph("Quarterly report", "Heading1") +
      "<w:p><w:r><w:t xml:space=\"preserve\">Revenue grew </w:t></w:r>"
      "<w:r><w:t>by 12%.</w:t></w:r></w:p>" +
      word_paragraph("Regional figures", "Ueberschrift2") +
      word_paragraph("North first", "", true) + "<w:tbl><w:tr>" + word_cell("Region") +
      word_cell("Q1") + word_cell("Q2") + "</w:tr><w:tr>" + word_cell("North") + word_cell("10") +
      word_cell("20") + "</w:tr><w:tr>" + word_cell("merged", 2) + word_cell("30") +
      "</w:tr></w:tbl>" + word_paragraph("After the table.") + "<w:sectPr/>";
  return make_zip({
      {"[Content_Types].xml",
       content_types({{"/word/document.xml", "wordprocessingml.document.main+xml"},
                      {"/word/styles.xml", "wordprocessingml.styles+xml"}})},
      {"_rels/.rels", rels({{"rId1", "officeDocument", "word/document.xml"}})},
      {"word/_rels/document.xml.rels", rels({{"rId1", "styles", "styles.xml"}})},
      {"word/document.xml", std::string(kXmlHeader) + "<w:document " + kWordNs + "><w:body>" +
                                body + "</w:body></w:document>"},
      {"word/styles.xml", styles},
  });
}

constexpr const char* kPresentationNs =
    R"(xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" )"
    R"(xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" )"
    R"(xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main")";

std::string slide(const std::string& title, const std::string& body) {
  auto shape = [](int id, const std::string& placeholder, const std::string& text) {
    return R"(<p:sp><p:nvSpPr><p:cNvPr id=")" + std::to_string(id) +
           R"(" name="Shape"/><p:cNvSpPr/><p:nvPr>)" + placeholder +
           "</p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>" + text +
           "</a:t></a:r></a:p></p:txBody></p:sp>";
  };
  return std::string(kXmlHeader) + "<p:sld " + kPresentationNs +
         R"(><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/>)"
         "</p:nvGrpSpPr><p:grpSpPr/>" +
         shape(2, R"(<p:ph type="title"/>)", title) + shape(3, R"(<p:ph idx="1"/>)", body) +
         "</p:spTree></p:cSld></p:sld>";
}

// The slides' files are in the opposite order to the presentation's, which is what counts.
std::string make_pptx() {
  const std::string presentation =
      std::string(kXmlHeader) + "<p:presentation " + kPresentationNs +
      R"(><p:sldIdLst><p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst>)"
      R"(<p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>)";
  return make_zip({
      {"[Content_Types].xml",
       content_types({{"/ppt/presentation.xml", "presentationml.presentation.main+xml"},
                      {"/ppt/slides/slide1.xml", "presentationml.slide+xml"},
                      {"/ppt/slides/slide2.xml", "presentationml.slide+xml"}})},
      {"_rels/.rels", rels({{"rId1", "officeDocument", "ppt/presentation.xml"}})},
      {"ppt/_rels/presentation.xml.rels",
       rels({{"rId2", "slide", "slides/slide1.xml"}, {"rId3", "slide", "slides/slide2.xml"}})},
      {"ppt/presentation.xml", presentation},
      {"ppt/slides/slide1.xml", slide("Results", "Revenue doubled")},
      {"ppt/slides/slide2.xml", slide("Welcome", "Agenda for today")},
  });
}

constexpr const char* kSheetNs =
    R"(xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" )"
    R"(xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships")";

std::string make_xlsx() {
  const std::string workbook =
      std::string(kXmlHeader) + "<workbook " + kSheetNs +
      R"(><sheets><sheet name="Sales" sheetId="1" r:id="rId1"/>)"
      R"(<sheet name="Flags" sheetId="2" r:id="rId2"/></sheets></workbook>)";
  const std::string strings = std::string(kXmlHeader) + "<sst " + kSheetNs +
                              R"( count="3" uniqueCount="3"><si><t>Region</t></si>)"
                              "<si><t>Q1</t></si><si><r><t>No</t></r><r><t>rth</t></r></si></sst>";
  // C1 and C2 are empty and row 3 is missing: the columns and row numbers must stay right.
  const std::string sales = std::string(kXmlHeader) + "<worksheet " + kSheetNs + "><sheetData>" +
                            R"(<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>)"
                            R"(<c r="D1" t="inlineStr"><is><t>Note</t></is></c></row>)"
                            R"(<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>120.5</v></c>)"
                            R"(<c r="D2" t="inlineStr"><is><t>ok</t></is></c></row>)"
                            R"(<row r="4"><c r="B4"><f>SUM(B2:B3)</f><v>120.5</v></c></row>)"
                            "</sheetData></worksheet>";
  const std::string flags = std::string(kXmlHeader) + "<worksheet " + kSheetNs +
                            R"(><sheetData><row r="1"><c r="A1" t="b"><v>1</v></c></row>)"
                            "</sheetData></worksheet>";
  return make_zip({
      {"[Content_Types].xml",
       content_types({{"/xl/workbook.xml", "spreadsheetml.sheet.main+xml"},
                      {"/xl/worksheets/sheet1.xml", "spreadsheetml.worksheet+xml"},
                      {"/xl/worksheets/sheet2.xml", "spreadsheetml.worksheet+xml"},
                      {"/xl/sharedStrings.xml", "spreadsheetml.sharedStrings+xml"}})},
      {"_rels/.rels", rels({{"rId1", "officeDocument", "xl/workbook.xml"}})},
      // One relative and one absolute target: both forms occur in real files.
      {"xl/_rels/workbook.xml.rels", rels({{"rId1", "worksheet", "worksheets/sheet1.xml"},
                                           {"rId2", "worksheet", "/xl/worksheets/sheet2.xml"},
                                           {"rId3", "sharedStrings", "sharedStrings.xml"}})},
      {"xl/workbook.xml", workbook},
      {"xl/sharedStrings.xml", strings},
      {"xl/worksheets/sheet1.xml", sales},
      {"xl/worksheets/sheet2.xml", flags},
  });
}

std::string error_of(const std::string& bytes, const std::string& name,
                     const DocumentLimits& limits = {}) {
  try {
    document_to_markdown(bytes, name, limits);
  } catch (const ToolError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DocumentsTest, DocxHeadingsParagraphsListsAndTables) {
  const Document document = document_to_markdown(make_docx(), "report.docx");
  EXPECT_EQ(document.format, "docx");
  EXPECT_FALSE(document.truncated);
  EXPECT_THAT(document.markdown,
              AllOf(HasSubstr("# Quarterly report\n"), HasSubstr("\nRevenue grew by 12%.\n"),
                    HasSubstr("## Regional figures\n"), HasSubstr("- North first\n"),
                    HasSubstr("| Region | Q1 | Q2 |\n| --- | --- | --- |\n| North | 10 | 20 |\n"),
                    // The merged cell spans two columns: 30 stays under Q2.
                    HasSubstr("| merged |  | 30 |\n"), HasSubstr("After the table.")));
}

TEST(DocumentsTest, PptxSlidesInPresentationOrderWithTitles) {
  const Document document = document_to_markdown(make_pptx(), "deck.pptx");
  EXPECT_EQ(document.format, "pptx");
  EXPECT_EQ(document.markdown,
            "## Slide 1\n\n### Welcome\n\nAgenda for today\n\n"
            "## Slide 2\n\n### Results\n\nRevenue doubled\n\n");
}

TEST(DocumentsTest, XlsxSheetsAsTablesWithCellsInTheirColumns) {
  const Document document = document_to_markdown(make_xlsx(), "book.xlsx");
  EXPECT_EQ(document.format, "xlsx");
  EXPECT_EQ(document.markdown,
            "## Sheet Sales\n\n"
            "| row | A | B | C | D |\n| --- | --- | --- | --- | --- |\n"
            "| 1 | Region | Q1 |  | Note |\n"
            "| 2 | North | 120.5 |  | ok |\n"
            "| 4 |  | 120.5 |  |  |\n\n"
            "## Sheet Flags\n\n| row | A |\n| --- | --- |\n| 1 | TRUE |\n\n");
}

TEST(DocumentsTest, PdfTextUnderAHeadingPerPage) {
  const Document document = document_to_markdown(
      testing::make_pdf({"Hello from page one", "Second page text"}), "paper.pdf");
  EXPECT_EQ(document.format, "pdf");
  const size_t first = document.markdown.find("## Page 1\n");
  const size_t hello = document.markdown.find("Hello from page one");
  const size_t second = document.markdown.find("## Page 2\n");
  const size_t text = document.markdown.find("Second page text");
  ASSERT_NE(text, std::string::npos) << document.markdown;
  EXPECT_LT(first, hello);
  EXPECT_LT(hello, second);
  EXPECT_LT(second, text);
}

TEST(DocumentsTest, CorruptPdfIsRefused) {
  EXPECT_THAT(error_of("%PDF-1.4\nthis is not a pdf", "broken.pdf"),
              HasSubstr("'broken.pdf' is not a readable PDF"));
  EXPECT_THAT(error_of("hello", "fake.pdf"), HasSubstr("does not start with %PDF-"));
}

TEST(DocumentsTest, CsvQuotedFieldsStayInTheirColumns) {
  const Document document = document_to_markdown(
      "name,comment,amount\r\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\",3\nplain,a|b,\n",
      "data.csv");
  EXPECT_EQ(document.format, "csv");
  EXPECT_EQ(document.markdown,
            "| name | comment | amount |\n| --- | --- | --- |\n"
            "| Smith, J | said \"hi\" then left | 3 |\n"
            "| plain | a\\|b |  |\n");
}

TEST(DocumentsTest, HtmlDropsScriptAndStyleAndDecodesEntities) {
  const Document document = document_to_markdown(
      "<!DOCTYPE html><html><head><title>Page</title><style>p { color: red }</style>"
      "<SCRIPT>var x = '<p>not text</p>';</SCRIPT></head><body><h2>Fish &amp; Chips</h2>"
      "<p>Price:&nbsp;&euro;5 &lt;cheap&gt; &#x263A; &#9731;</p><!-- hidden --><ul><li>one</li>"
      "<li>two</li></ul><p>unknown &bogus; stays</p></body></html>",
      "menu.html");
  EXPECT_EQ(document.format, "html");
  EXPECT_THAT(document.markdown,
              AllOf(HasSubstr("Page\n"), HasSubstr("## Fish & Chips\n"),
                    HasSubstr("Price:\u00a0\u20ac5 <cheap> \u263a \u2603\n"),
                    HasSubstr("- one\n- two\n"), HasSubstr("unknown &bogus; stays"),
                    Not(HasSubstr("color")), Not(HasSubstr("not text")), Not(HasSubstr("hidden"))));
}

TEST(DocumentsTest, JsonIsPrettyPrintedInAFence) {
  const Document document = document_to_markdown(R"({"a":[1,2],"b":{"c":"d"}})", "x.json");
  EXPECT_EQ(
      document.markdown,
      "```json\n{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {\n    \"c\": \"d\"\n  }\n}\n```\n");
  EXPECT_THAT(error_of("{\"a\": ", "bad.json"), HasSubstr("'bad.json' is not valid JSON"));
}

TEST(DocumentsTest, XmlAsItsTextContent) {
  const Document document = document_to_markdown(
      "<?xml version=\"1.0\"?><catalog><book id=\"1\"><title>Dune</title>"
      "<author> Herbert </author></book><note><![CDATA[a < b]]></note></catalog>",
      "books.xml");
  EXPECT_EQ(document.markdown, "Dune\nHerbert\na < b\n");
  EXPECT_THAT(error_of("<a><b></a>", "bad.xml"), HasSubstr("'bad.xml' is not valid XML"));
}

TEST(DocumentsTest, PlainTextAsIsAndUnknownTextExtensionsToo) {
  EXPECT_EQ(document_to_markdown("# Notes\nline two", "notes.md").markdown, "# Notes\nline two\n");
  const Document script = document_to_markdown("print('hi')\n", "script.py");
  EXPECT_EQ(script.format, "text");
  EXPECT_EQ(script.markdown, "print('hi')\n");
}

TEST(DocumentsTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(document_to_markdown("caf\xE9 ok\n", "latin1.txt").markdown, "caf\uFFFD ok\n");
}

TEST(DocumentsTest, ZipListsMembersAndConvertsTheTextOnes) {
  const std::string inner = make_zip({{"deep.txt", "not shown"}});
  const Document document = document_to_markdown(make_zip({{"readme.txt", "Read me first."},
                                                           {"table.csv", "x,y\n1,2\n"},
                                                           {"inner.zip", inner},
                                                           {"bad.json", "{"}}),
                                                 "bundle.zip");
  EXPECT_EQ(document.format, "zip");
  EXPECT_THAT(document.markdown,
              AllOf(HasSubstr("| readme.txt | 14 |\n"), HasSubstr("| table.csv | 8 |\n"),
                    HasSubstr("| inner.zip | " + std::to_string(inner.size()) + " |\n"),
                    HasSubstr("## readme.txt\n\nRead me first.\n"),
                    HasSubstr("## table.csv\n\n| x | y |\n| --- | --- |\n| 1 | 2 |\n"),
                    HasSubstr("## bad.json\n\n['bad.json' is not valid JSON"),
                    Not(HasSubstr("not shown"))));
}

TEST(DocumentsTest, EmptyFileIsRefused) {
  EXPECT_THAT(error_of("", "empty.docx"), HasSubstr("'empty.docx' is empty (0 bytes)"));
}

TEST(DocumentsTest, CorruptOfficeFilesAreRefused) {
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919 + 13) % 251);
  EXPECT_THAT(error_of(noise, "report.docx"),
              HasSubstr("'report.docx' is not a valid docx file (it is not a zip archive)"));
  // A zip, but not a workbook.
  EXPECT_THAT(error_of(make_zip({{"hello.txt", "hi"}}), "book.xlsx"),
              HasSubstr("'book.xlsx' is not a valid xlsx file: it has no 'xl/workbook.xml' part"));
  // The zip's header, then garbage.
  EXPECT_THAT(error_of("PK\x03\x04" + noise, "deck.pptx"),
              HasSubstr("'deck.pptx' is not a valid zip archive"));
}

TEST(DocumentsTest, ZipBombDeclaringTooMuchIsRefusedBeforeInflating) {
  DocumentLimits limits;
  limits.max_unpacked_bytes = 1 << 20;
  const std::string bomb = make_zip({{"zeros.txt", std::string(3 << 20, '\0')}});
  ASSERT_LT(bomb.size(), 64u << 10);  // it really is a bomb: tiny packed, large unpacked
  EXPECT_THAT(error_of(bomb, "bomb.zip", limits),
              AllOf(HasSubstr("unpacks to more than the limit of 1048576 bytes"),
                    HasSubstr("'zeros.txt' alone declares 3145728"), HasSubstr("zipfile")));
  // The same holds for a bomb dressed as a document, and for many small members adding up.
  Members many;
  for (int i = 0; i < 4; ++i)
    many.emplace_back("part" + std::to_string(i), std::string(300'000, 'a'));
  EXPECT_THAT(error_of(make_zip(many), "many.xlsx", limits), HasSubstr("unpacks to more than"));
}

TEST(DocumentsTest, ZipMemberLyingAboutItsSizeIsCaughtAtTheDeclaredSize) {
  std::string bomb = make_zip({{"data.txt", std::string(2 << 20, 'z')}});
  // Make the local and the central header both claim 1000 bytes.
  auto patch = [&](std::string_view signature, size_t offset) {
    const size_t header = bomb.find(signature);
    ASSERT_NE(header, std::string::npos);
    const uint32_t size = 1000;
    for (int i = 0; i < 4; ++i) bomb[header + offset + i] = static_cast<char>(size >> (8 * i));
  };
  patch("PK\x03\x04", 22);
  patch("PK\x01\x02", 24);
  const std::string error = error_of(bomb, "liar.zip");
  EXPECT_THAT(error, HasSubstr("'data.txt' in 'liar.zip' unpacks to more than the 1000 bytes it "
                               "declares (a corrupt archive or a zip bomb); refused"));
}

TEST(DocumentsTest, PartsReadOverAndOverCountAgainstTheUnpackedLimit) {
  const std::string one_slide = slide("Again", std::string(1000, 'x'));
  std::string ids;
  for (int i = 0; i < 50; ++i)
    ids += R"(<p:sldId id=")" + std::to_string(256 + i) + R"(" r:id="rId2"/>)";
  const Members members = {
      {"ppt/_rels/presentation.xml.rels", rels({{"rId2", "slide", "slides/slide1.xml"}})},
      {"ppt/presentation.xml", std::string(kXmlHeader) + "<p:presentation " + kPresentationNs +
                                   "><p:sldIdLst>" + ids + "</p:sldIdLst></p:presentation>"},
      {"ppt/slides/slide1.xml", one_slide}};
  DocumentLimits limits;
  limits.max_unpacked_bytes = 0;
  for (const auto& member : members) limits.max_unpacked_bytes += member.second.size();
  limits.max_unpacked_bytes += 5 * one_slide.size();  // room for a few re-reads, not fifty
  EXPECT_THAT(error_of(make_zip(members), "loop.pptx", limits),
              HasSubstr("unpacks more than the limit"));
}

TEST(DocumentsTest, TooManyZipEntriesAreRefused) {
  DocumentLimits limits;
  limits.max_zip_entries = 3;
  Members members;
  for (int i = 0; i < 4; ++i) members.emplace_back("f" + std::to_string(i) + ".txt", "x");
  EXPECT_THAT(error_of(make_zip(members), "many.zip", limits),
              HasSubstr("has 4 archive members, more than the limit of 3"));
}

TEST(DocumentsTest, ImagesPointToTheVisualizer) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  EXPECT_THAT(error_of(png, "chart.png"), HasSubstr("use the `visualizer` tool"));
  // By content, whatever the name says.
  EXPECT_THAT(error_of(png, "chart.txt"), HasSubstr("use the `visualizer` tool"));
}

// Regression (found by documents_fuzz): a RIFF header too short to name its format was read past
// its end.
TEST(DocumentsTest, ATruncatedRiffHeaderIsJustText) {
  EXPECT_EQ(document_to_markdown("RIFF\x03\x04", "a.txt").format, "txt");
}

TEST(DocumentsTest, UnsupportedBinaryTypesListTheSupportedOnes) {
  EXPECT_THAT(error_of(std::string("\x7f"
                                   "ELF\0\0\0",
                                   8),
                       "program.bin"),
              AllOf(HasSubstr("cannot be read as text (.bin)"),
                    HasSubstr("supported types: pdf, docx, pptx, xlsx, csv")));
}

TEST(DocumentsTest, FilesOverTheSizeLimitAreRefused) {
  DocumentLimits limits;
  limits.max_file_bytes = 10;
  EXPECT_THAT(error_of("0123456789ab", "big.txt", limits),
              HasSubstr("is 12 bytes, more than the limit of 10"));
}

TEST(DocumentsTest, LongOutputIsCutWithAMarker) {
  DocumentLimits limits;
  limits.max_chars = 100;
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "\u00e9line " + std::to_string(i) + "\n";
  const Document document = document_to_markdown(text, "long.txt", limits);
  EXPECT_TRUE(document.truncated);
  // 1000 lines of 7 code points plus their digits: 9,890 code points, 100 kept.
  EXPECT_THAT(document.markdown,
              HasSubstr("\n\n[… truncated: 9,790 more characters; ask a narrower question]\n"));
  EXPECT_TRUE(document.markdown.starts_with(text.substr(0, 50)));
}

}  // namespace
}  // namespace mat::tools
