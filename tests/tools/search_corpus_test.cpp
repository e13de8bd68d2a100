#include "mat/tools/search_corpus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mat/core/error.h"
#include "mat/core/temp_dir.h"

namespace mat::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A dozen short documents, each about one thing, in the three supported formats.
void write_documents(const fs::path& dir) {
  write_file(dir / "volcano.md",
             "# Volcanoes of Iceland\n\nEyjafjallajokull erupted in 2010 and its ash cloud "
             "grounded flights across Europe. Magma rises through the crust.\n");
  write_file(dir / "bees.txt",
             "Honey bees communicate the direction of flowers with a waggle dance. A colony "
             "has one queen and thousands of workers.\n");
  write_file(dir / "chess.html",
             "<html><head><title>The Sicilian Defence</title><style>p { color: red; }</style>"
             "</head><body><p>The Sicilian is a chess opening that begins 1.e4 c5.</p>"
             "<script>var hidden = 'zebracode';</script><p>Black fights for the centre "
             "&amp; counterattacks.</p></body></html>");
  write_file(dir / "sourdough.md",
             "```sh\n# not a title\n```\n## Sourdough bread\n\nA starter of flour and water "
             "ferments with wild yeast; the dough rises overnight.\n");
  write_file(dir / "tides.txt",
             "Tides are caused by the gravity of the Moon and the Sun pulling on the oceans.\n");
  write_file(dir / "photosynthesis.md",
             "# Photosynthesis\n\nPlants turn light, water and carbon dioxide into glucose "
             "and oxygen in their chloroplasts.\n");
  write_file(dir / "jazz.html",
             "<html><head><title>Bebop</title></head><body>Charlie Parker and Dizzy Gillespie "
             "played fast bebop jazz in the 1940s.</body></html>");
  write_file(dir / "rust.txt",
             "Iron rusts when it meets oxygen and water: iron oxide flakes off the metal.\n");
  write_file(dir / "orbits.md",
             "# Kepler's laws\n\nPlanets move in elliptical orbits with the Sun at one focus.\n");
  write_file(dir / "nested/penguins.txt",
             "Emperor penguins breed in the Antarctic winter; the males keep the egg warm.\n");
  write_file(dir / "nested/deeper/tea.md",
             "# Green tea\n\nGreen tea leaves are steamed or pan-fired to stop oxidation.\n");
  write_file(dir / "glaciers.txt",
             "Glaciers carve U-shaped valleys; the ice flows slowly downhill under its weight.\n");
}

class SearchCorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_documents(docs_);
    stats_ = build_corpus(docs_, db_);
  }

  core::TempDir temp_{"mat-search-test"};
  fs::path docs_ = temp_.path() / "docs";
  fs::path db_ = temp_.path() / "corpus.db";
  IndexStats stats_;
};

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const core::Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(SearchCorpusTest, IndexesEveryDocument) {
  EXPECT_EQ(stats_.added, 12u);
  EXPECT_EQ(stats_.skipped, 0u) << ::testing::PrintToString(stats_.skipped_reasons);
  EXPECT_EQ(SearchCorpus::open(db_).size(), 12u);
}

TEST_F(SearchCorpusTest, RanksTheDocumentAboutTheQueryFirst) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  const std::pair<std::string, std::string> cases[] = {
      {"volcano ash flights", "volcano.md"},
      {"waggle dance", "bees.txt"},
      {"chess opening", "chess.html"},
      {"wild yeast", "sourdough.md"},
      {"moon gravity", "tides.txt"},
      {"chloroplasts", "photosynthesis.md"},
      {"bebop", "jazz.html"},
      {"iron oxide", "rust.txt"},
      {"elliptical orbits", "orbits.md"},
      {"emperor penguin", "nested/penguins.txt"},
      {"oxidation leaves", "nested/deeper/tea.md"}};
  for (const auto& [query, file] : cases) {
    std::vector<SearchHit> hits = corpus.search(query, 5);
    ASSERT_FALSE(hits.empty()) << query;
    EXPECT_EQ(hits[0].url, "file://" + (docs_ / file).string()) << query;
    for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  }
}

TEST_F(SearchCorpusTest, TitlesComeFromHeadingsTitleTagsOrFileNames) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  EXPECT_EQ(corpus.search("eyjafjallajokull", 1).at(0).title, "Volcanoes of Iceland");
  EXPECT_EQ(corpus.search("sicilian", 1).at(0).title, "The Sicilian Defence");
  // The "# not a title" inside a code fence is not the heading.
  EXPECT_EQ(corpus.search("sourdough", 1).at(0).title, "Sourdough bread");
  EXPECT_EQ(corpus.search("waggle", 1).at(0).title, "bees.txt");
}

TEST_F(SearchCorpusTest, TitleMatchesOutrankBodyMatches) {
  write_file(docs_ / "mention.txt",
             "Bebop, bebop and more bebop: a note that repeats the word many times over.\n");
  build_corpus(docs_, db_);
  EXPECT_EQ(SearchCorpus::open(db_).search("bebop", 2).at(0).title, "Bebop");
}

TEST_F(SearchCorpusTest, SnippetsMarkTheMatchedTerms) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  std::vector<SearchHit> hits = corpus.search("gravity", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_THAT(hits[0].snippet, HasSubstr("**gravity**"));

  // Stemming: "erupts" finds "erupted", and the snippet marks the word as it is written.
  hits = corpus.search("erupts", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_THAT(hits[0].snippet, HasSubstr("**erupted**"));
}

TEST_F(SearchCorpusTest, LongDocumentsAreCutWithAnEllipsis) {
  std::string text = "Opening words of a long page. ";
  for (int i = 0; i < 200; ++i) text += "filler sentence number " + std::to_string(i) + ". ";
  write_file(docs_ / "long.txt", text + "The word xylophone appears only here. " + text);
  build_corpus(docs_, db_);
  std::vector<SearchHit> hits = SearchCorpus::open(db_).search("xylophone", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_THAT(hits[0].snippet,
              AllOf(StartsWith("..."), EndsWith("..."), HasSubstr("**xylophone**")));
  EXPECT_LT(hits[0].snippet.size(), 300u);
}

TEST_F(SearchCorpusTest, HtmlMarkupScriptsAndStylesAreNotIndexed) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  EXPECT_TRUE(corpus.search("zebracode", 5).empty());
  EXPECT_TRUE(corpus.search("color red", 5).empty());
  EXPECT_TRUE(corpus.search("html head", 5).empty());
  EXPECT_THAT(corpus.search("counterattacks", 1).at(0).snippet, HasSubstr("centre & **count"));
}

TEST_F(SearchCorpusTest, AllWordsMustMatchUnlessNoDocumentHasThemAll) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  // "oxygen" is in three documents, "iron" in one: AND keeps only the one with both.
  std::vector<SearchHit> hits = corpus.search("iron oxygen", 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_THAT(hits[0].url, EndsWith("rust.txt"));
  // No document is about both penguins and bebop: OR finds each.
  hits = corpus.search("penguins bebop", 10);
  EXPECT_EQ(hits.size(), 2u);
}

TEST_F(SearchCorpusTest, MaxResultsIsHonoured) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  EXPECT_EQ(corpus.search("the", 3).size(), 3u);
  EXPECT_TRUE(corpus.search("the", 0).empty());
  EXPECT_TRUE(corpus.search("the", -1).empty());
}

TEST_F(SearchCorpusTest, HostileQueriesAreSearchedAsPlainWords) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  const std::string hostile[] = {"\"",
                                 "\"\"\"",
                                 "AND OR NOT",
                                 "*",
                                 "bees*",
                                 "NEAR(",
                                 "NEAR(bees dance, 2)",
                                 "title:bees",
                                 "{title body}: bees",
                                 "^bees",
                                 "bees - dance + (",
                                 "",
                                 "   \t\n",
                                 "'; DROP TABLE docs; --",
                                 std::string(1, '\0') + "bees",
                                 "\xff\xfe invalid utf8",
                                 std::string(100000, 'a'),
                                 [] {
                                   std::string many;
                                   for (int i = 0; i < 5000; ++i) many += "bees OR \"(* ";
                                   return many;
                                 }()};
  for (const std::string& query : hostile) {
    EXPECT_NO_THROW(corpus.search(query, 5)) << query.substr(0, 40);
  }
  EXPECT_TRUE(corpus.search("", 5).empty());
  EXPECT_TRUE(corpus.search("\"", 5).empty());
  // "NOT" is a word here, not FTS5's negation.
  EXPECT_THAT(corpus.search("bees NOT dance", 5).at(0).url, EndsWith("bees.txt"));
}

TEST_F(SearchCorpusTest, CopiesAndThreadsShareOneCorpus) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  SearchCorpus copy = corpus;
  std::vector<std::thread> threads;
  std::atomic<int> found = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        found += static_cast<int>(copy.search("glaciers valleys", 1).size());
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(found, 200);
}

TEST(SearchCorpusOpen, MissingDatabaseSaysSo) {
  core::TempDir temp("mat-search-test");
  EXPECT_THAT(error_of([&] { SearchCorpus::open(temp.path() / "nope.db"); }),
              AllOf(HasSubstr("nope.db"), HasSubstr("does not exist"), HasSubstr("mat index")));
  EXPECT_THAT(error_of([&] { SearchCorpus::open(temp.path()); }), HasSubstr("not a file"));
}

TEST(SearchCorpusOpen, NonDatabaseFileSaysSo) {
  core::TempDir temp("mat-search-test");
  write_file(temp.path() / "notes.db", std::string(4096, 'x'));
  EXPECT_THAT(error_of([&] { SearchCorpus::open(temp.path() / "notes.db"); }),
              AllOf(HasSubstr("notes.db"), HasSubstr("not an SQLite database")));
}

void run_sql(const fs::path& db, const char* sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(raw, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
  sqlite3_close(raw);
}

TEST(SearchCorpusOpen, OtherSqliteDatabasesAreNotCorpora) {
  core::TempDir temp("mat-search-test");
  fs::path db = temp.path() / "app.db";
  run_sql(db, "CREATE TABLE users(name TEXT)");
  EXPECT_THAT(error_of([&] { SearchCorpus::open(db); }),
              AllOf(HasSubstr("app.db"), HasSubstr("not a mat search corpus")));

  run_sql(db, "CREATE TABLE meta(key TEXT, value TEXT); INSERT INTO meta VALUES ('format', 'x')");
  EXPECT_THAT(error_of([&] { SearchCorpus::open(db); }), HasSubstr("not a mat search corpus"));
}

TEST_F(SearchCorpusTest, OtherSchemaVersionsAreRefused) {
  run_sql(db_, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  EXPECT_THAT(error_of([&] { SearchCorpus::open(db_); }),
              AllOf(HasSubstr("schema version 99"), HasSubstr("rebuild it with `mat index`")));
}

TEST_F(SearchCorpusTest, ACorpusIsOpenedReadOnly) {
  SearchCorpus corpus = SearchCorpus::open(db_);
  auto before = fs::last_write_time(db_);
  corpus.search("bees", 5);
  EXPECT_EQ(fs::last_write_time(db_), before);
  // No journal or WAL file next to it: nothing was opened for writing.
  EXPECT_EQ(std::distance(fs::directory_iterator(temp_.path()), fs::directory_iterator()), 2);
}

TEST_F(SearchCorpusTest, RebuildingReplacesTheCorpusAtomically) {
  SearchCorpus old_corpus = SearchCorpus::open(db_);
  fs::remove(docs_ / "bees.txt");
  write_file(docs_ / "owls.txt", "Barn owls hunt mice at night by sound alone.\n");
  IndexStats stats = build_corpus(docs_, db_);
  EXPECT_EQ(stats.added, 12u);

  SearchCorpus corpus = SearchCorpus::open(db_);
  EXPECT_TRUE(corpus.search("waggle", 5).empty());
  EXPECT_EQ(corpus.search("owls", 5).size(), 1u);
  // A corpus opened before the rebuild still reads the file it opened: it was replaced, not
  // rewritten in place.
  EXPECT_EQ(old_corpus.search("waggle", 5).size(), 1u);
  EXPECT_TRUE(old_corpus.search("owls", 5).empty());
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(temp_.path()), fs::directory_iterator()), 2);
}

TEST_F(SearchCorpusTest, AFailedBuildLeavesTheOldCorpus) {
  auto failing = [](const fs::path& file) -> std::optional<CorpusDocument> {
    if (file.filename() == "tides.txt") throw std::runtime_error("converter crashed");
    return plain_text_document(file);
  };
  EXPECT_THROW(build_corpus(docs_, db_, failing), std::runtime_error);
  EXPECT_EQ(SearchCorpus::open(db_).search("waggle", 5).size(), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(temp_.path()), fs::directory_iterator()), 2);

  EXPECT_THAT(error_of([&] { build_corpus(temp_.path() / "missing", db_); }),
              HasSubstr("is not a folder"));
  EXPECT_EQ(SearchCorpus::open(db_).size(), 12u);
}

TEST_F(SearchCorpusTest, SymbolicLinksAreNotFollowed) {
  core::TempDir outside("mat-search-outside");
  write_file(outside.path() / "secret.txt", "The launch code is swordfish.\n");
  fs::create_symlink(outside.path() / "secret.txt", docs_ / "link.txt");
  fs::create_directory_symlink(outside.path(), docs_ / "linked-folder");
  IndexStats stats = build_corpus(docs_, db_);
  EXPECT_EQ(stats.added, 12u);
  EXPECT_EQ(stats.skipped, 2u);
  EXPECT_THAT(stats.skipped_reasons, Contains("link.txt: symbolic link, not followed"));
  EXPECT_THAT(stats.skipped_reasons, Contains("linked-folder: symbolic link, not followed"));
  EXPECT_TRUE(SearchCorpus::open(db_).search("swordfish", 5).empty());
}

TEST_F(SearchCorpusTest, UnsupportedAndUnreadableFilesAreSkippedWithAReason) {
  write_file(docs_ / "photo.png", "\x89PNG\r\n");
  write_file(docs_ / "binary.txt", std::string("text\0with a NUL", 15));
  IndexStats stats = build_corpus(docs_, db_);
  EXPECT_EQ(stats.added, 12u);
  EXPECT_THAT(stats.skipped_reasons, Contains("photo.png: unsupported file type"));
  EXPECT_THAT(stats.skipped_reasons, Contains("binary.txt: not UTF-8 text"));
}

TEST_F(SearchCorpusTest, UnreadableFoldersAreSkippedWithAReason) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every folder";
  write_file(docs_ / "locked/hidden.txt", "Nothing to see.\n");
  fs::permissions(docs_ / "locked", fs::perms::none);
  IndexStats stats = build_corpus(docs_, db_);
  fs::permissions(docs_ / "locked", fs::perms::owner_all);
  EXPECT_EQ(stats.added, 12u);
  EXPECT_THAT(stats.skipped_reasons, Contains("locked: cannot read the folder: Permission denied"));
}

TEST_F(SearchCorpusTest, ACustomConverterDecidesWhatIsIndexed) {
  auto only_txt = [](const fs::path& file) -> std::optional<CorpusDocument> {
    if (file.extension() != ".txt") return std::nullopt;
    return CorpusDocument{.title = "", .text = "converted " + file.stem().string()};
  };
  IndexStats stats = build_corpus(docs_, db_, only_txt);
  EXPECT_EQ(stats.added, 5u);
  EXPECT_EQ(stats.skipped, 7u);
  std::vector<SearchHit> hits = SearchCorpus::open(db_).search("converted glaciers", 5);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].title, "glaciers.txt");
}

TEST_F(SearchCorpusTest, ACorpusInsideTheSourceFolderIsNotIndexed) {
  fs::path inside = docs_ / "corpus.db";
  build_corpus(docs_, inside);
  IndexStats stats = build_corpus(docs_, inside, [](const fs::path& file) {
    return std::optional<CorpusDocument>(
        CorpusDocument{.title = "", .text = file.filename().string()});
  });
  EXPECT_EQ(stats.added, 12u);
  EXPECT_EQ(stats.skipped, 0u);
}

TEST(PlainTextDocument, ReadsTextMarkdownAndHtml) {
  core::TempDir temp("mat-search-test");
  write_file(temp.path() / "a.MD", "Intro\n\n###   Deep   heading ###\ntext");
  write_file(temp.path() / "b.htm",
             "<TITLE>Caf&eacute; &amp; bar</TITLE><BODY>a&lt;b<!-- note --> c</BODY>");
  write_file(temp.path() / "c.pdf", "%PDF");
  std::optional<CorpusDocument> md = plain_text_document(temp.path() / "a.MD");
  ASSERT_TRUE(md);
  EXPECT_EQ(md->title, "Deep heading");
  std::optional<CorpusDocument> html = plain_text_document(temp.path() / "b.htm");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->title, "Caf&eacute; & bar");
  EXPECT_EQ(html->text, "Caf&eacute; & bar a<b c");
  EXPECT_FALSE(plain_text_document(temp.path() / "c.pdf"));
  EXPECT_THAT(error_of([&] { plain_text_document(temp.path() / "gone.txt"); }),
              HasSubstr("cannot open it"));
}

}  // namespace
}  // namespace mat::tools
