"""Row error reports: the rejected rows of an uploaded file, kept to be downloaded as a
spreadsheet (the original cells plus 错误原因) and fixed in Excel."""
