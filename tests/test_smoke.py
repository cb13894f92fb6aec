from tests.support import PASSWORD


def test_login_and_viewer(client, county_a):
    data = client.data("{ viewer { username role tenant { code } scope { code } } }", token=county_a.tokens["collector"])
    assert data["viewer"] == {
        "username": "collector",
        "role": "VILLAGE_COLLECTOR",
        "tenant": {"code": county_a.code},
        "scope": {"code": county_a.code + "100201"},
    }
    assert client.login(county_a.code, "admin", PASSWORD)
