"""Run by tests/test_service.py in a pytest of its own (not collected by the suite:
the name does not start with test_): one test that needs the database."""


def test_the_database_is_there(urls):
    assert urls.app
