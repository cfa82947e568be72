"""Reading tables as a person reads them (chainrule.tabular.read): the header by the rows' parser,
decimal commas in semicolon files, and cells and names made safe to show."""
import numpy as np
import pytest

from chainrule.tabular.read import printable, read_table, spreadsheet_safe

pd = pytest.importorskip("pandas")


def test_a_duplicate_header_after_a_quoted_line_break_is_refused(tmp_path):
    """Issue 22, finding 9: the check read the header's first physical line only."""
    path = tmp_path / "dup.csv"
    path.write_text('a,"b\nc",a\n1,2,1\n0,3,0\n')
    with pytest.raises(ValueError, match=r"dup.csv has duplicate column headers 'a': each column"):
        read_table(path)
    path.write_text('a,"b\nc",d\n1,2,1\n0,3,0\n')  # the same file without the copy reads
    assert list(read_table(path).columns) == ["a", "b\nc", "d"]


def test_empty_header_cells_are_not_duplicates(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("a,,\n1,2,3\n4,5,6\n")
    assert list(read_table(path).columns) == ["a", "Unnamed: 1", "Unnamed: 2"]


def test_rows_with_more_fields_than_the_header_are_refused(tmp_path):
    """pandas would make the first field of each row its label and shift every column."""
    path = tmp_path / "extra.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")
    assert list(pd.read_csv(path)["a"]) == [2, 5]  # what pandas alone makes of it
    with pytest.raises(ValueError, match=r"extra.csv: line 2 \(data row 1\) has 3 fields, the "
                                         r"header 2: .*; if every row has one more, a header "
                                         r"cell is missing or a separator ends each row"):
        read_table(path)


@pytest.mark.parametrize("sep", [",", ";"])
def test_one_row_with_more_fields_is_named_by_its_line(tmp_path, sep):
    """pandas' own words were "Error tokenizing data. C error: Expected 3 fields in line 5,
    saw 4", its "line" counting rows: a quoted cell over two lines put it one line off."""
    path = tmp_path / "row.csv"
    path.write_text(f'a{sep}b{sep}y\n1{sep}"2\nz"{sep}x\n\n3{sep}4{sep}y\n5{sep}6{sep}7{sep}x\n'
                    f'1{sep}2{sep}x\n')
    with pytest.raises(ValueError) as caught:
        read_table(path)
    assert str(caught.value) == (
        f"{path}: line 6 (data row 3) has 4 fields, the header 3: a text cell that holds the "
        f"separator {sep!r} needs quotes (\"...\"), or a stray {sep!r} ends the line; read as "
        "it is, the columns would shift under the wrong names")


def test_decimal_commas_in_a_semicolon_file_are_numbers(tmp_path):
    """Issue 22, finding 10: ``0,1`` was text, one-hot encoded or dropped as an ID."""
    path = tmp_path / "semi.csv"
    path.write_text("x;big;code;y\n0,1;1.234,5;A1;a\n-2,5;7;B2;b\n3;-0,25e2;A1;a\n;12,0;B2;b\n")
    notes = []
    frame = read_table(path, note=notes.append)
    assert frame["x"].dtype == np.float64 and frame["big"].dtype == np.float64
    np.testing.assert_array_equal(frame["x"].to_numpy(), [0.1, -2.5, 3.0, np.nan])
    np.testing.assert_array_equal(frame["big"].to_numpy(), [1234.5, 7.0, -25.0, 12.0])
    assert frame["code"].tolist() == ["A1", "B2", "A1", "B2"]  # text stays text
    assert notes == ["read 'x', 'big' as numbers with a decimal comma (0,5 = 0.5)"]


def test_decimal_commas_are_read_only_where_a_person_would(tmp_path):
    # a comma file: "0,1" is two fields, never a number
    (tmp_path / "comma.csv").write_text('x,y\n"0,1",a\n"2,5",b\n')
    assert read_table(tmp_path / "comma.csv")["x"].tolist() == ["0,1", "2,5"]
    # columns asked for as text, and text columns that are not numbers, stay as they are
    (tmp_path / "semi.csv").write_text("x;note\n0,1;1,2,3\n2,5;ab\n")
    frame = read_table(tmp_path / "semi.csv", text_columns=["x"])
    assert frame["x"].tolist() == ["0,1", "2,5"] and frame["note"].tolist() == ["1,2,3", "ab"]
    # a dot decimal column in a semicolon file is pandas' own: untouched, nothing noted
    (tmp_path / "dots.csv").write_text("x;y\n0.5;a\n1.25;b\n")
    notes = []
    assert read_table(tmp_path / "dots.csv", note=notes.append)["x"].tolist() == [0.5, 1.25]
    assert notes == []


def test_dot_thousands_in_a_decimal_comma_file_are_thousands_and_said(tmp_path):
    """A file that writes 1,69 for 1.69 writes 4.359 for 4359: pandas alone read 4.359."""
    path = tmp_path / "eu.csv"
    path.write_text("gewicht;preis;anteil;y\n1,69;979;0.5;a\n2,5;4.359;1.25;b\n"
                    "0,8;-1.727.000;2.0;a\n3,1;;0.125;b\n")
    notes = []
    frame = read_table(path, note=notes.append)
    np.testing.assert_array_equal(frame["preis"].to_numpy(), [979, 4359, -1727000, np.nan])
    # dotted values that are not groups of three digits are decimals: left as pandas reads
    np.testing.assert_array_equal(frame["anteil"].to_numpy(), [0.5, 1.25, 2.0, 0.125])
    assert notes == ["read 'gewicht' as numbers with a decimal comma (0,5 = 0.5)",
                     "read 'preis' with the dot as the thousands separator (4.359 = 4359), "
                     "as this file writes its decimal-comma numbers (1.234,5)"]
    # without a decimal-comma column the file says nothing of its dots: 4.359 stays 4.359
    (tmp_path / "dots.csv").write_text("preis;y\n979;a\n4.359;b\n")
    notes = []
    assert read_table(tmp_path / "dots.csv", note=notes.append)["preis"].tolist() == [979, 4.359]
    assert notes == []


def test_a_decimal_comma_column_with_a_typo_keeps_the_typo_for_the_message(tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("x;y\n" + "".join(f"{i},5;a\n" for i in range(9)) + "2,5x;b\n")
    column = read_table(path)["x"]  # then preprocessing names the row of "2,5x"
    assert column.tolist()[:2] == ["0.5", "1.5"] and column.tolist()[-1] == "2,5x"


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("@SUM(1)", "'@SUM(1)"),
    ("+cmd", "'+cmd"), ("-foo", "'-foo"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("-inf", "'-inf"),
    ("-1.5", "-1.5"), ("+3", "+3"), ("-2e-3", "-2e-3"), ("-.5", "-.5"), ("cat", "cat"),
    ("a=b", "a=b"), ("", ""),
])
def test_spreadsheet_safe_follows_owasp(cell, expected):
    """Issue 22, finding 12: a cell a spreadsheet would run gets a leading ', unless a number."""
    assert spreadsheet_safe(cell) == expected


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("plain name, ünïcode 价格") == "plain name, ünïcode 价格"
    assert printable("a\x1b[31mred\x1b[0m") == "a\\x1b[31mred\\x1b[0m"
    assert printable("x\u202eevil\nnext\x00") == "x\\u202eevil\\nnext\\x00"
    assert printable("\x1b").isprintable()


def test_the_separator_is_one_character(tmp_path):
    path = tmp_path / "t.tsv.txt"
    path.write_text("a\tb\n1\t2\n")
    assert list(read_table(path, sep="\\t").columns) == ["a", "b"]  # as typed in a shell
    for bad in ("::", "", '"'):
        with pytest.raises(ValueError, match="--sep must be one character such as"):
            read_table(path, sep=bad)


def _workbook(path):
    import zipfile
    with zipfile.ZipFile(path, "w") as z:  # the parts every .xlsx file opens with
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")


@pytest.mark.parametrize("name, words", [
    ("book.xlsx", "it is an Excel workbook; save the sheet as CSV"),
    ("book.csv", "it is an Excel workbook; save the sheet as CSV"),   # named by its bytes
    ("data.csv.gz", "it is a gzip-compressed file; decompress it first (gunzip -k data.csv.gz)"),
    ("utf16.csv", "it is UTF-16 text"),
    ("model.csv", "it is a model file (safetensors); give it as the model"),
])
def test_files_that_are_not_tables_are_named_for_what_they_are(tmp_path, name, words):
    """The trial's .xlsx and .gz files were both "binary data (a model file?)"."""
    import gzip

    import chainrule as cr
    path = tmp_path / name
    if "book" in name:
        _workbook(path)
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(b"a,y\n1,x\n2,y\n"))
    elif "utf16" in name:
        path.write_bytes("a,y\n1,x\n2,y\n".encode("utf-16"))
    else:
        cr.mlp([2, 1], seed=0).save(path)
    with pytest.raises(ValueError) as caught:
        read_table(path)
    assert str(caught.value).startswith(f"{path} is not a table: {words}"), caught.value


@pytest.mark.parametrize("block", [5, 7, 64, 1 << 20])
def test_a_latin1_file_is_named_with_the_line_and_offset_of_its_first_bad_byte(
        tmp_path, monkeypatch, block):
    """A raw "'utf-8' codec can't decode byte 0xe9 in position ..." (a position in one of
    pandas' blocks) was all the trial got. The scan reads the file in blocks: a valid
    character cut by a block's end (é in UTF-8, two bytes) must not be taken for the error."""
    from chainrule.tabular import sniff
    monkeypatch.setattr(sniff, "_BLOCK", block)
    good = "".join(f"r{i},é{i},a\n" for i in range(40)).encode()
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,v,y\n" + good + "Café,1,b\n".encode("latin-1"))
    offset = len(b"name,v,y\n" + good) + 3
    with pytest.raises(ValueError) as caught:
        read_table(path)
    assert str(caught.value).startswith(
        f"{path} is not UTF-8 text: line 42 holds the byte 0xe9 (at offset {offset} in the "
        "file) after 'Caf'; it is probably Windows-1252 or Latin-1"), caught.value
    assert "iconv -f WINDOWS-1252 -t UTF-8 latin.csv > latin-utf8.csv" in str(caught.value)


def test_a_recorded_reading_is_applied_column_by_column(tmp_path):
    """A model file's record of how training read the numbers: its columns read that way in
    any file (a value that fits no such number stays text, for preprocessing to name), and
    no dot thousands guessed for the others."""
    from chainrule.tabular.read import read_table_with_numbers
    path = tmp_path / "new.csv"
    path.write_text("w;p;q;r\n1;4.359;4.359;0,5\n2;1.727;1.727;1,5\n3;4.5;979;2\n")
    record = {"decimal_comma": ["w"], "dot_thousands": ["p"]}
    frame, found = read_table_with_numbers(path, numbers=record)
    assert frame["w"].tolist() == [1.0, 2.0, 3.0]
    assert frame["p"].tolist() == ["4359", "1727", "4.5"]       # 4.5 is no thousands
    assert frame["q"].tolist() == [4.359, 1.727, 979.0]         # not recorded: pandas' reading
    assert frame["r"].tolist() == [0.5, 1.5, 2.0]               # a decimal comma is one still
    assert found == {"decimal_comma": ["w", "r"], "dot_thousands": ["p"]}
    # a column read as text (categorical in training) stays text, whatever the record says
    frame, _ = read_table_with_numbers(path, text_columns=["p"], numbers=record)
    assert frame["p"].tolist() == ["4.359", "1.727", "4.5"]
    # without a record the file decides: it writes decimal commas, so 4.359 is 4359 in q
    frame, found = read_table_with_numbers(path)
    assert frame["q"].tolist() == [4359.0, 1727.0, 979.0]
    assert found == {"decimal_comma": ["r"], "dot_thousands": ["q"]}


@pytest.mark.parametrize("record", [[], {"decimal_comma": []}, {"decimal_comma": ["a"],
                                    "dot_thousands": "b"}, {"decimal_comma": [1],
                                                           "dot_thousands": []}])
def test_a_hostile_numbers_record_is_refused(record):
    from chainrule.tabular.commas import check_numbers
    assert check_numbers(None, "m.st") is None   # an older model file: none recorded
    with pytest.raises(ValueError, match=r"m.st: the 'numbers' record must hold two lists"):
        check_numbers(record, "m.st")
