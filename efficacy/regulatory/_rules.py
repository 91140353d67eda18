"""The classification rules of :func:`efficacy.regulatory.classify`, one function a jurisdiction.

Every rule paraphrases and cites its source; nothing here quotes a regulation. Review
clocks are the ones the cited rules state (statutory or performance-goal clocks), not
forecasts of how long a programme takes.
"""

from __future__ import annotations

from efficacy.regulatory.classify import Certainty, Classification, Criterion, least_certain
from efficacy.regulatory.product import Product

# -- citations -----------------------------------------------------------------------
US_361 = "21 CFR 1271.10(a) (criteria for regulation solely under PHS Act section 361)"
US_SSP = "21 CFR 1271.15(b) (same surgical procedure exception)"
US_SSP_GUIDANCE = "FDA guidance, Same Surgical Procedure Exception under 21 CFR 1271.15(b) (2017)"
US_HCTP_GUIDANCE = (
    "FDA guidance, Regulatory Considerations for HCT/Ps: Minimal Manipulation and "
    "Homologous Use (2017, rev. 2020)"
)
US_EXOSOME = "FDA Public Safety Notification on Exosome Products (2019)"
US_COSMETIC = "FD&C Act section 201(i) (cosmetic) and 201(g)(1) (drug by intended use)"
US_MOCRA = "Modernization of Cosmetics Regulation Act of 2022 (FD&C Act sections 607-608)"
US_IND = "21 CFR 312.40(b) (IND in effect 30 days after receipt); 21 CFR 601 (BLA)"
US_RMAT = "FD&C Act section 506(g) (RMAT designation: serious or life-threatening condition)"
US_REG = "21 CFR 1271 subpart B (establishment registration and HCT/P listing)"

EU_ATMP = "Regulation (EC) No 1394/2007, Art. 2(1) and Annex I (substantial manipulation)"
EU_HE = "Regulation (EC) No 1394/2007, Art. 28 (hospital exemption; Directive 2001/83/EC Art. 3(7))"
EU_CP = "Regulation (EC) No 726/2004, Art. 6(3) (210-day assessment) and Art. 10"
EU_TCD = "Directive 2004/23/EC, Art. 2(2)(a) (autologous graft in the same surgical procedure)"
EU_SOHO = "Regulation (EU) 2024/1938 on substances of human origin (applies from 7 August 2027)"
EU_COSM_416 = (
    "Regulation (EC) No 1223/2009, Annex II entry 416 (cells, tissues or products of human origin)"
)
EU_COSM = (
    "Regulation (EC) No 1223/2009, Art. 13 (CPNP notification) and Reg. (EU) No 655/2013 (claims)"
)
EU_MP = "Directive 2001/83/EC, Art. 1(2) (medicinal product by presentation or function)"

JP_ASRM = (
    "Act on the Safety of Regenerative Medicine (Act No. 85 of 2013) and its "
    "Enforcement Regulations (risk classes I-III)"
)
JP_PMD = (
    "PMD Act (Act No. 145 of 1960), Art. 23-26 (regenerative medical products; "
    "conditional, time-limited approval)"
)
JP_COSM = (
    "PMD Act Art. 2(3) (cosmetics); Standards for Cosmetics (MHLW Notification No. 331 of 2000)"
)
JP_BIO = "Standards for Biological Ingredients (MHLW Notification No. 210 of 2003)"

KR_COSM = (
    "Cosmetics Act (Korea) and MFDS Regulation on Safety Standards of Cosmetics "
    "(prohibited ingredients; human cell/tissue culture fluid conditions)"
)
KR_FUNC = "Cosmetics Act Art. 4 (functional cosmetics review or report)"
KR_ARB = "Advanced Regenerative Bio Act (Act No. 16945 of 2019, in force 2020; amended 2025)"
KR_PAA = "Pharmaceutical Affairs Act (Korea) and MFDS Regulation on Approval of Biological Products"
KR_MINIMAL = (
    "MFDS Regulation on Approval of Biological Products (cell therapy product "
    "definition; minimal manipulation in surgery excluded)"
)

CN_PROHIBITED = (
    "NMPA Catalogue of Prohibited Cosmetic Ingredients (2021) and NMPA statement on "
    "'stem cell cosmetics' (14 Sep 2021)"
)
CN_COSM = (
    "Cosmetic Supervision and Administration Regulation (2020, State Council Decree "
    "No. 727); NMPA 2021 No. 50 (efficacy claims)"
)
CN_DRUG = (
    "Drug Administration Law (2019); Provisions for Drug Registration (2020), Art. "
    "23 (60 working-day IND review)"
)
CN_SCCR = (
    "Measures for the Administration of Stem Cell Clinical Research (Trial) (NHFPC and CFDA, 2015)"
)
CN_BOAO = (
    "Hainan Boao Lecheng International Medical Tourism Pilot Zone (State Council, "
    "2013; special-access rules 2019-)"
)

DRUG_EVIDENCE = (
    "clinical trials under GCP (phase 1-3) giving substantial evidence of safety and "
    "effectiveness, with full quality (CMC) and non-clinical data"
)


def crit(question: str, met: bool, source: str, certainty: Certainty = "stated") -> Criterion:
    return Criterion(question, met, source, certainty)


def _svf_note(p: Product, note: str) -> tuple[str, ...]:
    return (note,) if p.material == "svf" else ()


def make(
    jurisdiction: str,
    category: str,
    pathway: str,
    timeline: str,
    evidence: str,
    criteria: list[Criterion],
    base: Certainty,
    notes: tuple[str, ...] = (),
) -> Classification:
    certainty = least_certain(base, *(c.certainty for c in criteria))
    return Classification(
        jurisdiction, category, pathway, timeline, evidence, tuple(criteria), certainty, notes
    )


# -- United States ---------------------------------------------------------------------
def us(p: Product) -> Classification:
    """FDA: HCT/P (361 or 351), cosmetic, or drug/biologic by intended use."""
    crits: list[Criterion] = [crit("of human origin", p.human, US_361)]
    if not p.human:
        crits.append(
            crit(
                "applied topically for appearance only",
                not p.invasive and p.intended_use == "cosmetic",
                US_COSMETIC,
            )
        )
        if not p.invasive and p.intended_use == "cosmetic":
            return make(
                "US",
                "cosmetic",
                (
                    "no premarket approval; facility registration, product listing and safety "
                    "substantiation"
                ),
                "listing within 120 days of marketing (MoCRA)",
                (
                    "safety substantiation; claims limited to appearance (any structure/function "
                    "claim makes it a drug)"
                ),
                [*crits, crit("MoCRA duties apply", True, US_MOCRA)],
                "stated",
            )
        return make(
            "US",
            "drug or biological product (by intended use or route)",
            "IND, then NDA/BLA",
            "IND in effect 30 days after receipt unless on clinical hold",
            DRUG_EVIDENCE,
            [*crits, crit("investigational drug/biologic rules apply", True, US_IND)],
            "reported",
        )
    if not p.has_cells:
        crits += [
            crit("cell-free derivative (secretome, exosomes, growth factors)", True, US_EXOSOME),
            crit(
                "topical, for appearance only",
                not p.invasive and p.intended_use == "cosmetic" and not p.systemic_effect,
                US_COSMETIC,
            ),
        ]
        if not p.invasive and p.intended_use == "cosmetic" and not p.systemic_effect:
            return make(
                "US",
                "cosmetic (if every claim stays on appearance)",
                "no premarket approval; MoCRA registration, listing and safety substantiation",
                "listing within 120 days of marketing (MoCRA)",
                "safety substantiation of a human-derived ingredient; no efficacy approval",
                crits,
                "uncertain",
                (
                    (
                        "FDA has no specific rule for human-derived secretome or exosomes in "
                        "cosmetics; a claim such as 'regenerates' or 'repairs' makes the "
                        "product a drug."
                    ),
                ),
            )
        return make(
            "US",
            "PHS Act section 351 biological product (drug)",
            "IND, then BLA",
            (
                "IND in effect 30 days after receipt; BLA standard review 10 months after the "
                "60-day filing period"
            ),
            DRUG_EVIDENCE,
            [*crits, crit("IND/BLA rules apply", True, US_IND)],
            "stated",
            (
                (
                    "FDA states that exosome products intended to treat or for structure/function "
                    "need an approved BLA."
                ),
            ),
        )
    minimal = p.manipulation == "minimal"
    svf_caveat: Certainty = "reported" if p.material == "svf" and minimal else "stated"
    if p.source == "autologous" and p.same_surgical_procedure:
        crits.append(
            crit("autologous, removed and implanted in the same surgical procedure", True, US_SSP)
        )
        crits.append(
            crit(
                "kept in its original form (only rinsing, cleansing, sizing)",
                minimal,
                US_SSP_GUIDANCE,
                svf_caveat,
            )
        )
        if minimal:
            return make(
                "US",
                "excepted from 21 CFR 1271 (same surgical procedure)",
                "no FDA premarket pathway; practice of medicine under state law",
                "none at FDA",
                "none required by FDA; state medical-practice rules apply",
                crits,
                "stated",
                _svf_note(
                    p,
                    (
                        "FDA considers enzymatically processed SVF more than minimally "
                        "manipulated, so SVF rarely qualifies."
                    ),
                ),
            )
    crits += [
        crit("minimally manipulated", minimal, US_361, least_certain(svf_caveat, "stated")),
        crit("for homologous use only", p.homologous_use, US_361),
        crit("not combined with another article", not p.combined_with_other_articles, US_361),
        crit(
            (
                "no systemic effect and not dependent on living cells' metabolic activity, or "
                "autologous use"
            ),
            p.source == "autologous",
            US_361,
        ),
    ]
    if all(c.met for c in crits[-4:]):
        return make(
            "US",
            "PHS Act section 361 HCT/P",
            (
                "no premarket review; establishment registration, HCT/P listing, donor "
                "eligibility and current good tissue practice"
            ),
            "register within 5 days after beginning operations (21 CFR 1271.21)",
            "no premarket efficacy evidence; tissue-safety requirements only",
            [*crits, crit("registration and listing", True, US_REG)],
            "stated",
            (f"FDA guidance: {US_HCTP_GUIDANCE}.",),
        )
    notes = (
        (
            (
                "RMAT designation needs a serious or life-threatening condition; an "
                "appearance-only indication does not qualify."
            ),
        )
        if p.intended_use == "cosmetic"
        else ("RMAT designation may be requested if the condition is serious or life-threatening.",)
    )
    return make(
        "US",
        "PHS Act section 351 biological product (HCT/P)",
        "IND, then BLA (RMAT designation only for serious conditions)",
        (
            "IND in effect 30 days after receipt; BLA standard review 10 months after the "
            "60-day filing period"
        ),
        DRUG_EVIDENCE,
        [
            *crits,
            crit("IND/BLA rules apply", True, US_IND),
            crit("RMAT available", p.intended_use == "medical", US_RMAT, "reported"),
        ],
        "stated",
        notes,
    )


# -- European Union ----------------------------------------------------------------------
def eu(p: Product) -> Classification:
    """EU: prohibited cosmetic ingredient, ATMP, tissues and cells, or medicinal product."""
    cosmetic_use = not p.invasive and p.intended_use == "cosmetic"
    crits: list[Criterion] = [crit("of human origin", p.human, EU_COSM_416)]
    if cosmetic_use:
        crits.append(crit("topical product for appearance (cosmetic use)", True, EU_COSM))
        if p.human:
            return make(
                "EU",
                "prohibited cosmetic ingredient (product of human origin)",
                (
                    "not allowed as a cosmetic; only as a medicinal product with a marketing "
                    "authorisation"
                ),
                "not applicable",
                "not applicable as a cosmetic",
                crits,
                "stated",
            )
        return make(
            "EU",
            "cosmetic product",
            (
                "safety report, responsible person, CPNP notification before placing on the "
                "market; claims per Reg. 655/2013"
            ),
            "notification before marketing; no approval clock",
            "cosmetic product safety report; claim substantiation (valid, reliable, reproducible)",
            crits,
            "stated",
        )
    if not p.has_cells:
        crits.append(crit("medicinal product by function or presentation", True, EU_MP, "reported"))
        return make(
            "EU",
            "medicinal product (biological, not an ATMP: no cells or genes)",
            (
                "marketing authorisation (centralised or national); clinical trials under Reg. "
                "(EU) 536/2014"
            ),
            "centralised: 210-day assessment plus clock stops, then the Commission decision",
            DRUG_EVIDENCE,
            crits,
            "uncertain",
            (
                (
                    "Extracellular-vesicle products are classified case by case (EMA CAT "
                    "classification opinions)."
                ),
            ),
        )
    substantial = p.manipulation == "more_than_minimal"
    svf_caveat: Certainty = "reported" if p.material == "svf" and not substantial else "stated"
    crits += [
        crit(
            "substantially manipulated (not only the Annex I processes)",
            substantial,
            EU_ATMP,
            svf_caveat,
        ),
        crit("used for the same essential function (homologous)", p.homologous_use, EU_ATMP),
    ]
    if not substantial and p.homologous_use:
        if p.same_surgical_procedure:
            crits.append(crit("autologous graft within the same surgical procedure", True, EU_TCD))
            return make(
                "EU",
                "outside the tissues and cells rules (autologous, same procedure)",
                "medical practice under national law",
                "none at EU level",
                "none at EU level; national medical-practice rules",
                crits,
                "stated",
                _svf_note(
                    p,
                    (
                        "EMA's CAT regards enzymatic digestion (as for most SVF) as substantial "
                        "manipulation."
                    ),
                ),
            )
        crits.append(crit("human tissues and cells rules apply", True, EU_SOHO))
        return make(
            "EU",
            "human tissues and cells (not a medicinal product)",
            (
                "procurement and processing by an authorised tissue establishment (Directive "
                "2004/23/EC; SoHO Regulation from 2027)"
            ),
            "national authorisation of the establishment",
            "quality and safety standards for tissues and cells; no efficacy authorisation",
            crits,
            "stated",
        )
    crits += [
        crit("centralised authorisation", True, EU_CP),
        crit("hospital exemption possible (non-routine, custom-made, one hospital)", True, EU_HE),
    ]
    return make(
        "EU",
        "advanced therapy medicinal product (somatic cell therapy or tissue-engineered product)",
        (
            "centralised marketing authorisation (CAT/CHMP); or hospital exemption under "
            "national rules"
        ),
        "210-day assessment plus clock stops, then the Commission decision",
        DRUG_EVIDENCE,
        crits,
        "stated",
    )
