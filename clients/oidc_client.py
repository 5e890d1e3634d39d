"""An ordinary OpenID Connect relying party (Authlib, unmodified) signing a citizen in
through Tongban: discovery, the authorization code flow with PKCE S256, the ID token
checked against the JWK set (issuer, audience, nonce, expiry, ES256 signature), UserInfo,
then refresh-token rotation and reuse detection. The citizen's browser is played by a
`requests` session that logs in on the real login form and allows the app on the consent
page. Prints one JSON object with what it saw.

usage: oidc_client.py BASE CLIENT_ID CLIENT_SECRET REDIRECT_URI PHONE PASSWORD
"""

import html
import json
import re
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken


def hidden_fields(page):
    return {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


def main():
    base, client_id, secret, redirect_uri, phone, password = sys.argv[1:7]
    meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    client = OAuth2Session(
        client_id,
        secret,
        scope="openid profile phone",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    nonce = generate_token(20)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    # The browser: sent to log in, logs in on the form, comes back to the consent page.
    browser = requests.Session()
    r = browser.get(url, timeout=10)
    assert "/login" in r.url, r.url
    fields = hidden_fields(r.text)
    fields.update({"account": phone, "password": password})
    r = browser.post(f"{base}/login", data=fields, headers={"Origin": base}, timeout=10)
    assert r.status_code == 200 and 'name="decision"' in r.text, (r.status_code, r.url)
    consent = hidden_fields(r.text)
    consent["decision"] = "allow"
    r = browser.post(
        f"{base}/oauth2/authorize", data=consent, headers={"Origin": base}, timeout=10
    )
    m = re.search(r'id="onward" href="([^"]+)"', r.text)
    assert m, r.text[:2000]
    callback = html.unescape(m.group(1))
    assert callback.startswith(redirect_uri), callback

    token = client.fetch_token(
        meta["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=verifier,
    )
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": meta["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate()
    header = json.loads(
        __import__("base64").urlsafe_b64decode(token["id_token"].split(".")[0] + "==")
    )
    userinfo = client.get(meta["userinfo_endpoint"], timeout=10).json()

    # Rotation: a refresh gives a new refresh token; the spent one used again is refused
    # and takes the new one with it.
    first_refresh = token["refresh_token"]
    rotated = client.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
    outcomes = {}
    for name, rt in [("reused", first_refresh), ("after_reuse", rotated["refresh_token"])]:
        try:
            client.refresh_token(meta["token_endpoint"], refresh_token=rt)
            outcomes[name] = "accepted"
        except OAuthError as e:
            outcomes[name] = e.error
    print(
        json.dumps(
            {
                "alg": header.get("alg"),
                "sub": claims["sub"],
                "aud": claims["aud"],
                "name": claims.get("name"),
                "userinfo": userinfo,
                "rotated": rotated["refresh_token"] != first_refresh,
                "reused": outcomes["reused"],
                "after_reuse": outcomes["after_reuse"],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
