"""Classification rules for Japan, Korea and China (see :mod:`efficacy.regulatory._rules`)."""

from __future__ import annotations

from efficacy.regulatory._rules import (
    CN_BOAO,
    CN_COSM,
    CN_DRUG,
    CN_PROHIBITED,
    CN_SCCR,
    DRUG_EVIDENCE,
    JP_ASRM,
    JP_BIO,
    JP_COSM,
    JP_PMD,
    KR_ARB,
    KR_COSM,
    KR_FUNC,
    KR_MINIMAL,
    KR_PAA,
    crit,
    make,
)
from efficacy.regulatory.classify import Classification, Criterion
from efficacy.regulatory.product import Product


# -- Japan -------------------------------------------------------------------------------
def jp(p: Product) -> Classification:
    """Japan: ASRM risk class in clinics, PMD Act product, or cosmetic."""
    cosmetic_use = not p.invasive and p.intended_use == "cosmetic"
    crits: list[Criterion] = [crit("contains human cells", p.has_cells and p.human, JP_ASRM)]
    if p.has_cells and p.human:
        stem = p.material in ("svf", "expanded_cells")
        risk = "I" if p.source == "allogeneic" else ("II" if stem else "III")
        crits += [
            crit("allogeneic cells (class I)", p.source == "allogeneic", JP_ASRM, "reported"),
            crit("somatic stem cells, e.g. adipose-derived (class II)", stem, JP_ASRM, "reported"),
        ]
        clock = (
            "class I: the ministry may order changes within 90 days of the plan's submission"
            if risk == "I"
            else "plan effective on submission to the ministry after committee review"
        )
        return make(
            "JP",
            f"regenerative medicine, risk class {risk} (clinic use under ASRM)",
            (
                "review by a certified (special) committee for regenerative medicine, then the "
                "provision plan to MHLW; as a marketed product: PMD Act regenerative medical "
                "product approval (conditional, time-limited approval possible)"
            ),
            clock,
            (
                "committee-reviewed provision plan with safety data; product approval needs "
                "clinical evidence (conditional approval: probable efficacy, confirmed within "
                "up to 7 years)"
            ),
            [*crits, crit("PMD Act route for products", True, JP_PMD)],
            "reported",
        )
    if cosmetic_use:
        crits.append(crit("topical product for appearance (cosmetic use)", True, JP_COSM))
        if p.human:
            crits.append(
                crit(
                    "human-derived ingredient (must meet the Standards for Biological Ingredients)",
                    True,
                    JP_BIO,
                    "reported",
                )
            )
        return make(
            "JP",
            "cosmetic",
            "product notification; ingredients must meet the Standards for Cosmetics"
            + (" and the Standards for Biological Ingredients" if p.human else ""),
            "notification before marketing; no approval clock",
            (
                "safety responsibility of the marketer; efficacy claims limited to the approved "
                "cosmetic claim list"
            ),
            crits,
            "reported" if p.human else "stated",
        )
    crits.append(
        crit(
            "cell-free product given by injection or for a medical purpose",
            True,
            JP_PMD,
            "uncertain",
        )
    )
    return make(
        "JP",
        "drug under the PMD Act (cell-free; outside ASRM)",
        (
            "clinical trial notification, then marketing approval; clinic use of unapproved "
            "cell-free products is not covered by ASRM"
        ),
        "standard review target 12 months (PMDA)",
        DRUG_EVIDENCE,
        crits,
        "uncertain",
        (
            (
                "Cell-free secretome and exosome treatments in clinics sit in a regulatory gap "
                "in Japan."
            ),
        ),
    )


# -- Korea -------------------------------------------------------------------------------
def kr(p: Product) -> Classification:
    """Korea: cosmetic (culture-fluid rules), prohibited ingredient, or cell therapy product."""
    cosmetic_use = not p.invasive and p.intended_use == "cosmetic"
    crits: list[Criterion] = []
    if cosmetic_use:
        crits.append(crit("topical product for appearance (cosmetic use)", True, KR_COSM))
        if p.human and p.has_cells:
            crits.append(crit("contains human cells or tissue", True, KR_COSM))
            return make(
                "KR",
                "prohibited cosmetic ingredient (human cells or tissue)",
                "not allowed as a cosmetic",
                "not applicable",
                "not applicable as a cosmetic",
                crits,
                "stated",
            )
        if p.human:
            crits.append(
                crit(
                    (
                        "human cell or tissue culture fluid (allowed only under the MFDS "
                        "conditions: donor screening, no cells remaining)"
                    ),
                    True,
                    KR_COSM,
                    "reported",
                )
            )
        crits.append(
            crit(
                "functional-cosmetic claim (e.g. wrinkle improvement) needs review or report",
                True,
                KR_FUNC,
            )
        )
        return make(
            "KR",
            "cosmetic" + (" with human cell culture fluid" if p.human else ""),
            (
                "general cosmetic; functional cosmetic (wrinkle, whitening, ...) reviewed or "
                "reported to MFDS with efficacy data"
            ),
            "functional cosmetic review before marketing",
            (
                "safety data; for functional claims, human efficacy tests by MFDS guidelines "
                "(see the kr-mfds rule pack)"
            ),
            crits,
            "reported" if p.human else "stated",
        )
    if p.has_cells and p.human:
        minimal = p.manipulation == "minimal" and p.same_surgical_procedure
        crits.append(
            crit(
                "autologous, minimally manipulated within one surgical procedure",
                minimal,
                KR_MINIMAL,
                "reported",
            )
        )
        if minimal:
            return make(
                "KR",
                "medical procedure (not a cell therapy product)",
                "medical practice by a licensed physician",
                "none at MFDS",
                "none at MFDS",
                crits,
                "reported",
            )
        crits.append(crit("cell therapy product (advanced biopharmaceutical)", True, KR_ARB))
        return make(
            "KR",
            "cell therapy product (advanced biopharmaceutical)",
            (
                "IND, then marketing approval (expedited or conditional approval for serious or "
                "rare diseases); clinic treatments only as approved advanced regenerative "
                "medicine at designated institutions"
            ),
            "IND review 30 days (MFDS)",
            DRUG_EVIDENCE,
            [*crits, crit("Pharmaceutical Affairs Act approval", True, KR_PAA)],
            "reported",
        )
    crits.append(
        crit(
            "cell-free or non-human product given by injection or for a medical purpose",
            True,
            KR_PAA,
            "reported",
        )
    )
    return make(
        "KR",
        "biological product (drug)",
        "IND, then marketing approval",
        "IND review 30 days (MFDS)",
        DRUG_EVIDENCE,
        crits,
        "uncertain",
        ("Secretome and exosome injections in clinics are not a settled category in Korea.",),
    )


# -- China -------------------------------------------------------------------------------
def cn(p: Product) -> Classification:
    """China: prohibited cosmetic ingredient, cosmetic, or drug (IND/BLA)."""
    cosmetic_use = not p.invasive and p.intended_use == "cosmetic"
    crits: list[Criterion] = []
    if cosmetic_use:
        crits.append(crit("topical product for appearance (cosmetic use)", True, CN_COSM))
        crits.append(
            crit(
                "of human origin (cells, tissues or human-derived products)", p.human, CN_PROHIBITED
            )
        )
        if p.human:
            return make(
                "CN",
                "prohibited cosmetic ingredient (human origin)",
                (
                    "not allowed as a cosmetic; NMPA has registered or filed no stem-cell cosmetic "
                    "ingredient"
                ),
                "not applicable",
                "not applicable as a cosmetic",
                crits,
                "stated",
            )
        return make(
            "CN",
            "cosmetic (new ingredient registration or filing if not in IECIC 2021)",
            (
                "ordinary cosmetic filing or special cosmetic registration; efficacy claims "
                "evaluated per NMPA 2021 No. 50"
            ),
            "filing before marketing; special cosmetics registration review",
            (
                "efficacy claim evaluation per claim (human trial for some claims; see the "
                "cn-nmpa-2021 rule pack)"
            ),
            crits,
            "reported",
        )
    crits.append(
        crit(
            "cells or human-derived product given by injection or for a medical purpose",
            True,
            CN_DRUG,
        )
    )
    crits.append(
        crit(
            "stem cell clinical research allowed only in filed institutions, without charge",
            p.has_cells,
            CN_SCCR,
            "reported",
        )
    )
    return make(
        "CN",
        "drug (biological product)",
        (
            "IND, then BLA; clinical research only under the 2015 stem cell measures; Boao "
            "Lecheng special access only for products approved abroad"
        ),
        "IND: 60 working days (implied approval)",
        DRUG_EVIDENCE,
        [*crits, crit("special access in the Boao pilot zone", False, CN_BOAO, "reported")],
        "stated",
        ("No stem-cell product for aesthetic injection had national approval as of 2023.",),
    )
