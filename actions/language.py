"""Tell Finnish from English in a customer's message, so replies follow them.

Deliberately small: marker words and Finnish letters. A message with no
signal ("1001", "ok") returns None and the conversation keeps its language.
"""

from __future__ import annotations

import re

FINNISH_MARKERS = frozenset(
    """
    ja ei en se mä mun minä minun sinä te teillä teidän voinko voisinko voisiko voiko
    voisko haluan haluaisin tarvitsen pitää pitäisi kiitos kiitti moi hei terve moikka
    lasku laskun laskua laskulle laskussa laskut laskuja eräpäivä eräpäivän eräpäivää
    erapaiva erapaivan erapaivaa maksu maksun maksaa maksoin maksettu maksanut osamaksu
    siirtää siirto siirtäisin siirtaa lisäaikaa lisaaikaa aikaa viite viitenumero
    viitenumeroa tilinumero kyllä kylla joo juu ei eikä enkä olen oli ole mitä mita miten
    miksi missä missa koska kun mutta vai tai että etta onko onks onkos ihminen ihmiselle
    asiakaspalvelu asiakaspalvelija puhelin sähköposti sahkoposti nyt heti kuinka paljon
    muistutus maksumuistutus kulut kulu korko perintä perinnässä apua apu tarvis tartteis
    pystyn pysty voi voin saan saisin saako kiitoksia näkemiin nakemiin hyvää päivää
    """.split()
)
ENGLISH_MARKERS = frozenset(
    """
    the a an and i i'm im my you your is are am was were can could would should
    please thanks thank hello hi hey bye goodbye invoice invoices bill due date pay paid
    payment plan instalments installments extension extend more time need want help
    person human agent yes yeah yep nope not what when where why how much fee fees
    reminder reference number account iban email phone call talk speak copy already
    of to for with in it this that do does did don't dont have has just still
    """.split()
)
FINNISH_LETTERS = re.compile(r"[äöå]", re.IGNORECASE)
WORD = re.compile(r"[a-zåäö']+", re.IGNORECASE)


def detect_language(text: str | None) -> str | None:
    """Return "fi", "en" or None when the message gives no clear signal."""
    if not text:
        return None
    words = WORD.findall(text.lower())
    finnish = sum(word in FINNISH_MARKERS for word in words)
    english = sum(word in ENGLISH_MARKERS for word in words)
    if FINNISH_LETTERS.search(text):
        finnish += 2
    if finnish == english:
        return None
    return "fi" if finnish > english else "en"
