"""The simulated job market: Danish CVs, postings on two portals and the historical cohort's hires.

Hires come from a hidden preference model in which a citizen's skills often fit another occupation than the
titles they search for, so a text model can beat Jobnet's title-and-distance automatch (issues 3 and 7).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from matcher.geo import haversine_km, postcode_table

FIELDS = ["humaniora", "samfundsvidenskab", "naturvidenskab", "teknisk", "sundhed", "erhvervsøkonomi"]

# Skill variants: the canonical name first; CVs and postings use different surface forms of the same skill.
SKILL_VARIANTS: dict[str, list[str]] = {
    "projektledelse": ["projektledelse", "projektstyring", "ledelse af projekter", "projektlederrollen"],
    "kommunikation": ["kommunikation", "formidling", "kommunikationsopgaver", "kommunikationsarbejde"],
    "skriftlig formidling": ["skriftlig formidling", "tekstforfatning", "copywriting", "skrivearbejde"],
    "sociale medier": ["sociale medier", "SoMe", "Facebook og LinkedIn", "social media"],
    "presse": ["pressearbejde", "pressekontakt", "presseberedskab", "mediekontakt"],
    "statistik": ["statistik", "statistiske analyser", "statistisk modellering", "regressionsanalyse"],
    "python": ["Python", "python-programmering", "pandas", "Python og SQL"],
    "sql": ["SQL", "databaser", "SQL-forespørgsler", "datawarehouse"],
    "machine learning": ["machine learning", "maskinlæring", "prædiktive modeller", "kunstig intelligens"],
    "dataanalyse": ["dataanalyse", "analyse af data", "dataanalyser", "datadrevne analyser"],
    "jura": ["jura", "juridisk sagsbehandling", "lovfortolkning", "retsanvendelse"],
    "forvaltningsret": ["forvaltningsret", "forvaltningsloven", "offentlig ret", "forvaltningsretlige regler"],
    "sagsbehandling": ["sagsbehandling", "sagsbehandlingen", "behandling af sager", "myndighedsopgaver"],
    "kontrakter": ["kontraktret", "kontrakter", "kontraktudarbejdelse", "aftaleret"],
    "politisk betjening": ["politisk betjening", "ministerbetjening", "betjening af udvalg", "politiske processer"],
    "økonomisk analyse": ["økonomiske analyser", "samfundsøkonomi", "økonomisk analyse", "konsekvensberegninger"],
    "budget": ["budgetlægning", "budgetopfølgning", "budget", "budgetter"],
    "regnskab": ["regnskab", "årsregnskab", "bogføring", "regnskabsaflæggelse"],
    "controlling": ["controlling", "business controlling", "økonomistyring", "rapportering"],
    "revision": ["revision", "revisionsopgaver", "revisionsarbejde", "IFRS"],
    "finans": ["finansiel analyse", "værdiansættelse", "investeringsanalyse", "porteføljeanalyse"],
    "marketing": ["marketing", "markedsføring", "digital markedsføring", "performance marketing"],
    "salg": ["salg", "B2B-salg", "kundepleje", "key account management"],
    "indkøb": ["indkøb", "indkøbsopgaver", "leverandørstyring", "udbud"],
    "supply chain": ["supply chain", "forsyningskæde", "logistik", "lagerstyring"],
    "hr": ["HR", "personaleadministration", "rekruttering", "HR-partnerskab"],
    "organisationsudvikling": ["organisationsudvikling", "forandringsledelse", "change management", "procesudvikling"],
    "undervisning": ["undervisning", "didaktik", "undervisningsforløb", "pædagogik"],
    "formidling af kultur": ["kulturformidling", "udstillinger", "museumsformidling", "kulturarv"],
    "research": ["research", "kildekritik", "desk research", "researcharbejde"],
    "oversættelse": ["oversættelse", "translatørarbejde", "korrekturlæsning", "sprogrevision"],
    "journalistik": ["journalistik", "nyhedsformidling", "reportage", "redaktionelt arbejde"],
    "informationssøgning": ["informationssøgning", "litteratursøgning", "videnshåndtering", "metadata"],
    "socialt arbejde": ["socialt arbejde", "socialfaglig vurdering", "serviceloven", "udsatte borgere"],
    "rådgivning": ["rådgivning", "borgerrådgivning", "vejledning", "samtaleteknik"],
    "softwareudvikling": ["softwareudvikling", "programmering", "systemudvikling", "kodning"],
    "java": ["Java", "C#", ".NET", "objektorienteret programmering"],
    "cloud": ["cloud", "Azure", "AWS", "DevOps"],
    "test": ["test", "testautomatisering", "kvalitetssikring", "unit tests"],
    "it-arkitektur": ["IT-arkitektur", "systemarkitektur", "integrationer", "løsningsarkitektur"],
    "agile": ["agile metoder", "Scrum", "agil udvikling", "SAFe"],
    "cad": ["CAD", "AutoCAD", "Revit", "SolidWorks"],
    "konstruktion": ["konstruktion", "statik", "bærende konstruktioner", "konstruktionsberegninger"],
    "byggeri": ["byggeri", "byggeledelse", "byggesager", "anlægsprojekter"],
    "maskinteknik": ["maskinteknik", "mekanik", "produktudvikling", "mekanisk design"],
    "elektronik": ["elektronik", "elektroteknik", "styringssystemer", "PLC-programmering"],
    "energi": ["energi", "vedvarende energi", "energioptimering", "grøn omstilling"],
    "laboratoriearbejde": ["laboratoriearbejde", "laboratorieforsøg", "laboratorieanalyser", "GLP"],
    "molekylærbiologi": ["molekylærbiologi", "PCR", "cellebiologi", "genetik"],
    "kemi": ["kemi", "analytisk kemi", "HPLC", "kemiske analyser"],
    "miljø": ["miljøvurdering", "miljøgodkendelser", "natur og miljø", "miljøtilsyn"],
    "gis": ["GIS", "ArcGIS", "QGIS", "geodata"],
    "geologi": ["geologi", "grundvand", "jordforurening", "geoteknik"],
    "klinisk arbejde": ["klinisk arbejde", "patientbehandling", "diagnostik", "klinik"],
    "forskning": ["forskning", "videnskabelige publikationer", "forskningsprojekter", "ph.d.-projekt"],
    "farmakologi": ["farmakologi", "lægemidler", "medicinhåndtering", "lægemiddelsikkerhed"],
    "regulatory": ["regulatory affairs", "registrering af lægemidler", "GMP", "myndighedskrav"],
    "kliniske forsøg": ["kliniske forsøg", "klinisk forskning", "GCP", "forsøgsprotokoller"],
    "genoptræning": ["genoptræning", "træning", "rehabilitering", "bevægeapparatet"],
    "psykologi": ["psykologi", "psykologiske test", "terapi", "kognitiv adfærdsterapi"],
    "sundhedsfremme": ["sundhedsfremme", "forebyggelse", "folkesundhed", "epidemiologi"],
    "kundeservice": ["kundeservice", "telefonisk service", "kundehenvendelser", "service"],
    "administration": ["administration", "kontorarbejde", "journalisering", "sekretæropgaver"],
    "lager": ["lagerarbejde", "pakning", "truckcertifikat", "varemodtagelse"],
    "butik": ["butiksarbejde", "kassebetjening", "varepåfyldning", "salg i butik"],
    "excel": ["Excel", "regneark", "pivottabeller", "Power BI"],
    "ux": ["UX", "brugerinddragelse", "brugertest", "interaktionsdesign"],
    "evaluering": ["evaluering", "effektmåling", "monitorering", "evalueringsdesign"],
    "kvalitativ metode": ["kvalitative interviews", "kvalitativ metode", "fokusgrupper", "feltarbejde"],
    "sprog": ["engelsk", "tysk", "fransk", "sprogkundskaber"],
}

# One block per occupation: DISCO-08 code | cluster | field weights | share of postings requiring qualifications,
# then titles, canonical skills, tasks and tools (a value may continue on lines indented further).
_OCCUPATIONS = """
2432 | kommunikation | humaniora:3,samfundsvidenskab:2,erhvervsøkonomi:1 | 0.9
  titles: kommunikationsmedarbejder;kommunikationskonsulent;kommunikationsrådgiver;presse- og
      kommunikationsmedarbejder
  skills: kommunikation,skriftlig formidling,sociale medier,presse,projektledelse,ux,marketing,research
  tasks: udarbejde kommunikationsplaner;skrive nyheder til intranettet;rådgive ledelsen om kommunikation;drive
      kampagner;håndtere presseforespørgsler;producere indhold til hjemmesiden
  tools: Umbraco,Sitecore,Adobe InDesign,Canva

2642 | kommunikation | humaniora:3,samfundsvidenskab:1 | 0.9
  titles: journalist;redaktør;nyhedsredaktør;webredaktør
  skills: journalistik,research,skriftlig formidling,sociale medier,presse,kommunikation
  tasks: skrive artikler og reportager;redigere indhold;lave interviews;producere podcasts;dække nyheder
  tools: WordPress,Adobe Premiere,Audacity

2330 | undervisning | humaniora:3,naturvidenskab:2,samfundsvidenskab:1 | 1.0
  titles: gymnasielærer;adjunkt;underviser;lektor i gymnasiet
  skills: undervisning,formidling af kultur,sprog,kommunikation,evaluering,research
  tasks: planlægge undervisningsforløb;undervise gymnasieelever;rette opgaver;afholde eksamen;vejlede elever
  tools: Lectio,Moodle,Teams

2622 | information | humaniora:3,samfundsvidenskab:1 | 0.9
  titles: bibliotekar;informationsspecialist;dokumentalist;videnskabelig bibliotekar
  skills: informationssøgning,research,administration,formidling af kultur,undervisning,ux
  tasks: hjælpe forskere med litteratursøgning;registrere materialer;udvikle digitale tjenester;undervise i
      informationskompetence
  tools: Primo,Alma,Zotero

2643 | sprog | humaniora:4 | 0.9
  titles: oversætter;translatør;sprogkonsulent;korrekturlæser
  skills: oversættelse,sprog,skriftlig formidling,research,kommunikation
  tasks: oversætte juridiske tekster;læse korrektur;udarbejde terminologilister;sikre sproglig kvalitet
  tools: Trados,memoQ,Word

2621 | kultur | humaniora:4 | 0.9
  titles: museumsinspektør;kulturformidler;arkivar;kurator
  skills: formidling af kultur,research,projektledelse,undervisning,informationssøgning,skriftlig formidling
  tasks: kuratere udstillinger;formidle kulturarv til børn og voksne;registrere samlinger;søge fondsmidler
  tools: Regin,SARA,Adobe InDesign

2423 | hr | samfundsvidenskab:2,humaniora:2,erhvervsøkonomi:2 | 0.8
  titles: HR-konsulent;HR-partner;rekrutteringskonsulent;HR-medarbejder
  skills: hr,organisationsudvikling,rådgivning,kommunikation,jura,projektledelse,administration
  tasks: rekruttere nye medarbejdere;rådgive ledere om personalesager;udvikle trivselsmålinger;drive onboarding
  tools: SuccessFactors,Emply,Excel

2422 | forvaltning | samfundsvidenskab:4,humaniora:1,erhvervsøkonomi:1 | 0.9
  titles: fuldmægtig;specialkonsulent;chefkonsulent;AC-fuldmægtig
  skills: politisk betjening,sagsbehandling,forvaltningsret,økonomisk analyse,projektledelse,skriftlig
      formidling,evaluering
  tasks: udarbejde notater og indstillinger;betjene politiske udvalg;koordinere på tværs af forvaltningen;besvare
      folketingsspørgsmål
  tools: F2,WorkZone,Excel

2611 | jura | samfundsvidenskab:4 | 1.0
  titles: jurist;advokatfuldmægtig;juridisk konsulent;juridisk fuldmægtig
  skills: jura,forvaltningsret,kontrakter,sagsbehandling,rådgivning,skriftlig formidling
  tasks: udarbejde kontrakter;rådgive om persondataret;behandle klagesager;føre retssager
  tools: Karnov,Schultz,WorkZone

2631 | økonomi | samfundsvidenskab:3,erhvervsøkonomi:2,naturvidenskab:1 | 0.9
  titles: økonom;samfundsøkonom;analytiker;økonomisk konsulent
  skills: økonomisk analyse,statistik,dataanalyse,excel,python,evaluering,politisk betjening
  tasks: lave økonomiske analyser;udarbejde prognoser;beregne konsekvenser af reformer;skrive analysenotater
  tools: Stata,R,Excel,Python

2421 | organisation | samfundsvidenskab:2,erhvervsøkonomi:3,teknisk:1 | 0.8
  titles: managementkonsulent;organisationskonsulent;forretningsudvikler;projektleder
  skills: projektledelse,organisationsudvikling,evaluering,dataanalyse,excel,agile,kommunikation
  tasks: lede udviklingsprojekter;kortlægge arbejdsgange;facilitere workshops;udarbejde business cases
  tools: PowerPoint,Jira,Excel,Power BI

2635 | socialt | samfundsvidenskab:3,sundhed:1,humaniora:1 | 1.0
  titles: socialrådgiver;sagsbehandler;socialfaglig konsulent;rådgiver i familieafdelingen
  skills: socialt arbejde,sagsbehandling,rådgivning,forvaltningsret,kvalitativ metode
  tasks: udrede borgeres sager;afholde samtaler med familier;træffe afgørelser efter serviceloven;samarbejde med
      skoler
  tools: KMD Nexus,DUBU,WorkZone

2120 | data | naturvidenskab:3,teknisk:2,samfundsvidenskab:1,erhvervsøkonomi:1 | 0.9
  titles: data scientist;dataanalytiker;statistiker;data analyst
  skills: statistik,python,sql,machine learning,dataanalyse,excel,cloud
  tasks: bygge prædiktive modeller;analysere store datamængder;udvikle dashboards;automatisere rapportering
  tools: Python,R,SQL,Databricks,Power BI

2131 | biologi | naturvidenskab:4,sundhed:1 | 1.0
  titles: biolog;forsker;laborant med kandidatgrad;molekylærbiolog
  skills: molekylærbiologi,laboratoriearbejde,forskning,statistik,skriftlig formidling
  tasks: udføre laboratorieforsøg;analysere prøver;skrive videnskabelige artikler;planlægge eksperimenter
  tools: GraphPad,R,ELN

2113 | kemi | naturvidenskab:4,teknisk:1 | 1.0
  titles: kemiker;analytisk kemiker;QC-kemiker;udviklingskemiker
  skills: kemi,laboratoriearbejde,regulatory,forskning,statistik
  tasks: udvikle analysemetoder;validere metoder;udføre kvalitetskontrol;dokumentere resultater
  tools: HPLC,LIMS,Empower

2133 | miljø | naturvidenskab:3,teknisk:2 | 1.0
  titles: miljøkonsulent;miljømedarbejder;miljøsagsbehandler;naturkonsulent
  skills: miljø,gis,sagsbehandling,geologi,forvaltningsret,rådgivning
  tasks: behandle miljøgodkendelser;føre tilsyn med virksomheder;kortlægge natur;rådgive om klimatilpasning
  tools: ArcGIS,QGIS,Miljøportalen

2114 | geologi | naturvidenskab:4,teknisk:1 | 1.0
  titles: geolog;hydrogeolog;geotekniker;geofysiker
  skills: geologi,gis,miljø,dataanalyse,forskning
  tasks: kortlægge grundvand;tolke boringer;vurdere jordforurening;lave geologiske modeller
  tools: GeoScene,Jupiter,Leapfrog

2512 | it | teknisk:3,naturvidenskab:2 | 0.9
  titles: softwareudvikler;backend-udvikler;fullstack-udvikler;programmør
  skills: softwareudvikling,java,cloud,test,agile,sql,python
  tasks: udvikle nye funktioner;skrive testbar kode;deltage i code reviews;vedligeholde systemer
  tools: Git,Docker,Kubernetes,Visual Studio

2511 | it | teknisk:3,naturvidenskab:1,erhvervsøkonomi:1 | 0.9
  titles: IT-konsulent;systemudvikler;IT-arkitekt;løsningsarkitekt
  skills: it-arkitektur,softwareudvikling,agile,cloud,projektledelse,test
  tasks: analysere forretningsbehov;designe integrationer;implementere IT-systemer;rådgive kunder
  tools: SAP,ServiceNow,Azure DevOps

2142 | byggeri | teknisk:4 | 1.0
  titles: bygningsingeniør;konstruktionsingeniør;civilingeniør byggeri;projekteringsleder
  skills: konstruktion,byggeri,cad,projektledelse,energi
  tasks: beregne bærende konstruktioner;projektere bygninger;føre tilsyn på byggepladsen;udarbejde tegninger
  tools: Revit,AutoCAD,Robot,Navisworks

2144 | maskin | teknisk:4 | 1.0
  titles: maskiningeniør;udviklingsingeniør;produktudviklingsingeniør;mekanisk ingeniør
  skills: maskinteknik,cad,konstruktion,test,projektledelse
  tasks: designe mekaniske komponenter;udføre FEM-beregninger;teste prototyper;optimere produktion
  tools: SolidWorks,Ansys,Creo

2151 | el | teknisk:4,naturvidenskab:1 | 1.0
  titles: elektroingeniør;automationsingeniør;el-ingeniør;energiingeniør
  skills: elektronik,energi,test,softwareudvikling,cad
  tasks: designe styringer;programmere PLC;udvikle energisystemer;idriftsætte anlæg
  tools: Siemens TIA,EPLAN,MATLAB

2211 | sundhed | sundhed:4 | 1.0
  titles: læge;reservelæge;introduktionslæge;almen medicin læge
  skills: klinisk arbejde,forskning,farmakologi,kliniske forsøg
  tasks: undersøge og behandle patienter;gå stuegang;deltage i vagtlag;forske i behandlingsmetoder
  tools: Sundhedsplatformen,EPJ

2262 | pharma | sundhed:3,naturvidenskab:2 | 1.0
  titles: farmaceut;regulatory affairs specialist;QA-specialist;lægemiddelkonsulent
  skills: farmakologi,regulatory,kliniske forsøg,kemi,laboratoriearbejde
  tasks: udarbejde registreringsansøgninger;sikre GMP-compliance;vurdere lægemiddelsikkerhed;rådgive om medicin
  tools: Veeva,TrackWise,SAP

2264 | sundhed | sundhed:4 | 1.0
  titles: fysioterapeut;specialfysioterapeut;træningsterapeut;rehabiliteringskonsulent
  skills: genoptræning,klinisk arbejde,sundhedsfremme,rådgivning
  tasks: tilrettelægge genoptræning;undersøge patienter;vejlede om træning;dokumentere forløb
  tools: Cura,Nexus

2634 | psykologi | sundhed:2,samfundsvidenskab:2,humaniora:1 | 1.0
  titles: psykolog;arbejdspsykolog;børnepsykolog;erhvervspsykolog
  skills: psykologi,rådgivning,kvalitativ metode,evaluering,organisationsudvikling
  tasks: gennemføre samtaleforløb;udrede børn og unge;afholde kurser om stress;lave personlighedstest
  tools: PPR-systemet,Teams

2269 | folkesundhed | sundhed:3,samfundsvidenskab:2,naturvidenskab:1 | 0.9
  titles: sundhedskonsulent;folkesundhedskonsulent;epidemiolog;forebyggelseskonsulent
  skills: sundhedsfremme,evaluering,statistik,projektledelse,kvalitativ metode,dataanalyse
  tasks: udvikle forebyggelsesindsatser;evaluere sundhedsprojekter;analysere registerdata;samarbejde med kommuner
  tools: SAS,Stata,REDCap

2411 | økonomistyring | erhvervsøkonomi:4,samfundsvidenskab:1 | 0.9
  titles: controller;business controller;økonomikonsulent;økonomimedarbejder
  skills: controlling,budget,regnskab,excel,dataanalyse,sql
  tasks: udarbejde budgetter;følge op på regnskab;lave månedsrapportering;analysere afvigelser
  tools: SAP,Navision,Excel,Power BI

2412 | finans | erhvervsøkonomi:4,naturvidenskab:1,samfundsvidenskab:1 | 1.0
  titles: finansanalytiker;revisor;risikoanalytiker;investeringsanalytiker
  skills: finans,revision,regnskab,excel,statistik,python
  tasks: analysere virksomheder;værdiansætte aktiver;udføre revision;vurdere kreditrisiko
  tools: Bloomberg,Excel,CaseWare

2431 | marketing | erhvervsøkonomi:3,humaniora:1,samfundsvidenskab:1 | 0.8
  titles: marketingkonsulent;marketingkoordinator;digital marketingspecialist;brand manager
  skills: marketing,sociale medier,dataanalyse,kommunikation,salg,ux
  tasks: planlægge kampagner;optimere annoncering;analysere kundedata;styre brandet
  tools: Google Analytics,HubSpot,Meta Ads

2433 | salg | erhvervsøkonomi:3,teknisk:1,naturvidenskab:1 | 0.6
  titles: key account manager;salgskonsulent;account manager;business developer
  skills: salg,marketing,rådgivning,kommunikation,excel
  tasks: pleje eksisterende kunder;finde nye kunder;forhandle aftaler;holde salgsmøder
  tools: Salesforce,Dynamics CRM,LinkedIn

1324 | logistik | erhvervsøkonomi:3,teknisk:2 | 0.7
  titles: indkøber;supply chain konsulent;indkøbskonsulent;planlægger
  skills: indkøb,supply chain,excel,kontrakter,dataanalyse
  tasks: forhandle med leverandører;gennemføre udbud;planlægge produktion;optimere lagerbeholdning
  tools: SAP,Navision,Excel

4222 | lavkval | erhvervsøkonomi:1,humaniora:1,samfundsvidenskab:1 | 0.1
  titles: kundeservicemedarbejder;kundekonsulent;callcentermedarbejder;supporter
  skills: kundeservice,salg,administration,sprog
  tasks: besvare kundehenvendelser;løse problemer i telefonen;registrere sager;sælge produkter
  tools: Zendesk,Puzzel

4110 | lavkval | humaniora:1,samfundsvidenskab:1,erhvervsøkonomi:1 | 0.2
  titles: administrativ medarbejder;kontorassistent;sekretær;receptionist
  skills: administration,kundeservice,excel,kommunikation
  tasks: journalisere post;booke møder;tage imod gæster;holde styr på kalendere
  tools: Outlook,Word,Excel

9333 | lavkval | teknisk:1,naturvidenskab:1 | 0.0
  titles: lagermedarbejder;lagerarbejder;pakkerimedarbejder;chauffør
  skills: lager,supply chain
  tasks: plukke og pakke varer;modtage varer;holde orden på lageret;køre truck
  tools: Scannere,Truck

5223 | lavkval | humaniora:1,erhvervsøkonomi:1 | 0.0
  titles: butiksassistent;salgsassistent;butiksmedarbejder;kassemedarbejder
  skills: butik,salg,kundeservice
  tasks: betjene kunder;fylde varer op;sidde ved kassen;holde butikken ryddelig
  tools: Kasseapparat
"""

_UNIVERSITIES = ["Københavns Universitet", "Aarhus Universitet", "Syddansk Universitet", "Aalborg Universitet",
                 "Roskilde Universitet", "CBS", "DTU", "IT-Universitetet"]
_DEGREES = {"humaniora": "cand.mag.", "samfundsvidenskab": "cand.scient.pol.", "naturvidenskab": "cand.scient.",
            "teknisk": "cand.polyt.", "sundhed": "cand.scient.san.", "erhvervsøkonomi": "cand.merc."}
_FIELD_SUBJECTS = {
    "humaniora": ["dansk", "historie", "kommunikation", "filosofi", "engelsk", "informationsvidenskab", "tysk"],
    "samfundsvidenskab": ["statskundskab", "jura", "økonomi", "sociologi", "psykologi", "antropologi"],
    "naturvidenskab": ["biologi", "kemi", "geografi", "matematik", "fysik", "datalogi", "geologi"],
    "teknisk": ["byggeri", "maskinteknik", "elektroteknik", "softwareteknologi", "miljøteknologi"],
    "sundhed": ["medicin", "farmaci", "folkesundhedsvidenskab", "fysioterapi", "psykologi"],
    "erhvervsøkonomi": ["finansiering", "regnskab", "marketing", "supply chain management", "innovation"],
}
_CV_FILLER = [
    "Jeg er en engageret og struktureret person, der trives med ansvar.",
    "Jeg er god til at samarbejde og kan arbejde selvstændigt.",
    "Mine kolleger beskriver mig som analytisk, nysgerrig og løsningsorienteret.",
    "I min fritid spiller jeg fodbold og er frivillig i en forening.",
    "Jeg har kørekort og er vant til at arbejde under tidspres.",
    "Jeg taler og skriver dansk og engelsk flydende.",
    "Jeg lærer hurtigt nye systemer og tager gerne initiativ.",
]
_POSTING_FILLER = [
    "Vi tilbyder et uformelt arbejdsmiljø med gode kolleger og fleksible arbejdstider.",
    "Løn og ansættelsesvilkår efter gældende overenskomst.",
    "Vi opfordrer alle interesserede uanset alder, køn, religion eller etnisk baggrund til at søge.",
    "Arbejdsstedet er tæt på offentlig transport.",
    "Du bliver en del af et fagligt stærkt team med stor faglig sparring.",
    "Vi holder samtaler løbende, så send din ansøgning hurtigst muligt.",
    "Stillingen er på 37 timer om ugen.",
]
_PUBLIC_EMPLOYERS = ["Københavns Kommune", "Frederiksberg Kommune", "Region Hovedstaden", "Gentofte Kommune",
                     "Styrelsen for Arbejdsmarked og Rekruttering", "Finansministeriet", "Danmarks Statistik",
                     "Rigshospitalet", "Hvidovre Hospital", "Københavns Universitet", "DTU", "Miljøstyrelsen",
                     "Aarhus Kommune", "Odense Kommune", "Region Sjælland", "Skattestyrelsen"]
_PRIVATE_EMPLOYERS = ["Novo Nordisk A/S", "Ørsted A/S", "A.P. Møller - Mærsk A/S", "Danske Bank A/S", "Rambøll",
                      "COWI A/S", "Carlsberg A/S", "H. Lundbeck A/S", "Netcompany A/S", "Systematic A/S",
                      "Coloplast A/S", "DSV A/S", "Vestas", "Nordea", "Deloitte", "PwC", "KPMG", "EY",
                      "Jobindex A/S", "Salling Group", "Coop Danmark", "TDC NET", "Pandora", "Lego"]
_NAME_PARTS = ["Nord", "Syd", "Øster", "Vester", "Hav", "Skov", "Lys", "Bro", "Sten", "Kilde", "Fjord", "Eng",
               "Bakke", "Sø", "Strand", "Vind", "Sol", "Mose", "Dal", "Holm"]
_NAME_SUFFIXES = ["Consult ApS", "Tech A/S", "Gruppen A/S", "Partners ApS", "& Co ApS", "Solutions ApS",
                  "Rådgivning", "Analyse ApS", "Instituttet", "Fonden"]


@dataclass(frozen=True)
class Occupation:
    """One occupation of the hidden job market: what its postings say and whom it attracts."""

    code: str
    cluster: str
    field_weights: dict[str, float]
    qualification_share: float
    titles: list[str]
    skills: list[str]
    tasks: list[str]
    tools: list[str]

    @property
    def low_skilled(self) -> bool:
        return self.cluster == "lavkval"


@dataclass
class JobsData:
    """The three files of the simulated job market (issue 3): CVs of both cohorts, postings, historical hires."""

    cvs: pd.DataFrame
    postings: pd.DataFrame
    hires: pd.DataFrame
    # Not written to files: the job behind each posting id (copies on two portals share one), for tests.
    posting_job: pd.Series | None = None


def _parse_occupations() -> list[Occupation]:
    occupations = []
    for block in _OCCUPATIONS.strip().split("\n\n"):
        header, *rest = block.splitlines()
        values: dict[str, str] = {}
        key = ""
        for line in rest:
            if line.startswith("    "):
                values[key] += " " + line.strip()
            else:
                key, _, value = line.strip().partition(": ")
                values[key] = value
        code, cluster, fields, share = (part.strip() for part in header.split("|"))
        weights = {name: float(w) for name, w in (item.split(":") for item in fields.split(","))}
        occupations.append(Occupation(
            code, cluster, weights, float(share),
            *(_split(values[k], sep) for k, sep in (("titles", ";"), ("skills", ","), ("tasks", ";"), ("tools", ","))),
        ))
    return occupations


def _split(value: str, sep: str) -> list[str]:
    return [item.strip() for item in value.split(sep) if item.strip()]


OCCUPATIONS = _parse_occupations()


def _inflect(word: str, rnd: random.Random) -> str:
    """A Danish inflected or compounded form of a single noun, so the text model must normalise."""
    if " " in word or not word.islower() or rnd.random() > 0.35:
        return word
    choice = rnd.random()
    if choice < 0.3:
        return word + ("n" if word.endswith("e") else "en")
    if choice < 0.55:
        return word + ("r" if word.endswith("e") else "er")
    if choice < 0.75:
        return word + ("rne" if word.endswith("e") else "erne")
    return word + rnd.choice(["arbejde", "opgaver", "erfaring", "kompetencer", "forløb"])


def _typo(text: str, rnd: random.Random) -> str:
    """Swap two neighbouring letters in one word now and then, as in real CVs."""
    if rnd.random() > 0.3 or len(text) < 10:
        return text
    i = rnd.randrange(1, len(text) - 2)
    if not (text[i].isalpha() and text[i + 1].isalpha()):
        return text
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _skill_text(skill: str, rnd: random.Random) -> str:
    return _inflect(rnd.choice(SKILL_VARIANTS.get(skill, [skill])), rnd)


def _employers(rnd: random.Random, n: int) -> list[str]:
    names = list(_PUBLIC_EMPLOYERS) + list(_PRIVATE_EMPLOYERS)
    while len(names) < n:
        names.append(f"{rnd.choice(_NAME_PARTS)}{rnd.choice(_NAME_PARTS).lower()} {rnd.choice(_NAME_SUFFIXES)}")
    return names


class _Market:
    """Draws people's latent profiles and the postings; holds the indices the hire model needs."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rnd = random.Random(int(rng.integers(2**63)))
        self.skill_index = {s: i for i, s in enumerate(sorted({s for o in OCCUPATIONS for s in o.skills}))}
        self.occ_skills = [np.array([self.skill_index[s] for s in o.skills]) for o in OCCUPATIONS]
        self.field_occ = np.array([[o.field_weights.get(f, 0.0) for o in OCCUPATIONS] for f in FIELDS])
        # Neighbouring occupations share skills: the alternatives a citizen's skills may fit.
        skill_sets = [set(o.skills) for o in OCCUPATIONS]
        self.neighbours = np.array([[len(a & b) for b in skill_sets] for a in skill_sets], dtype=float)
        np.fill_diagonal(self.neighbours, 0.0)

    def person_profiles(self, fields: list[str]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Desired occupation, skill occupation (often another one) and skill set of each person."""
        rng = self.rng
        n = len(fields)
        field_idx = np.array([FIELDS.index(f) if f in FIELDS else 0 for f in fields])
        weights = self.field_occ[field_idx].copy()
        low = np.array([o.low_skilled for o in OCCUPATIONS])
        weights[:, low] = 0.0
        weights = weights**2
        desired = _sample_rows(rng, weights)
        # About half of the citizens have skills (from jobs, projects, electives) that fit another occupation.
        moves = rng.random(n) < 0.55
        neighbour_w = self.neighbours[desired] + 0.3 * self.field_occ[field_idx]
        neighbour_w[:, low] = 0.0
        neighbour_w[np.arange(n), desired] = 0.0
        alternative = _sample_rows(rng, neighbour_w**2)
        skill_occ = np.where(moves, alternative, desired)
        skills = []
        all_skills = len(self.skill_index)
        for d, s in zip(desired, skill_occ, strict=True):
            own = self.occ_skills[s]
            chosen = set(rng.choice(own, size=min(len(own), 5), replace=False).tolist())
            want = self.occ_skills[d]
            chosen |= set(rng.choice(want, size=2, replace=False).tolist())
            chosen |= set(rng.integers(0, all_skills, size=1).tolist())
            skills.append(np.array(sorted(chosen)))
        return desired, skill_occ, skills


def _sample_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row drawn with the row's weights (vectorised inverse-CDF)."""
    cum = np.cumsum(weights, axis=1)
    cum /= cum[:, -1:]
    u = rng.random((weights.shape[0], 1))
    return np.minimum((cum < u).sum(axis=1), weights.shape[1] - 1)


def _cv_text(occ_d: Occupation, occ_s: Occupation, field: str, skills: list[str], experience: float,
             rnd: random.Random) -> str:
    parts = [
        f"Jeg er uddannet {_DEGREES.get(field, 'cand.')} i {rnd.choice(_FIELD_SUBJECTS.get(field, ['samfundsfag']))} "
        f"fra {rnd.choice(_UNIVERSITIES)}.",
    ]
    if experience >= 1:
        past_title = rnd.choice(occ_s.titles)
        first, second = rnd.sample(occ_s.tasks, k=2)
        parts.append(f"Jeg har {int(experience)} års erfaring, senest som {past_title}, hvor jeg havde ansvar for at "
                     f"{first} og {second}.")
    else:
        parts.append(f"Som studentermedhjælper har jeg været med til at {rnd.choice(occ_s.tasks)}.")
    parts.append(f"I mit speciale arbejdede jeg med {_skill_text(rnd.choice(occ_d.skills), rnd)}.")
    shown = rnd.sample(skills, k=len(skills))
    parts.append("Kompetencer: " + ", ".join(_skill_text(s, rnd) for s in shown) + ".")
    if rnd.random() < 0.7:
        parts.append("Jeg har erfaring med " + " og ".join(_skill_text(s, rnd) for s in shown[:2]) + ".")
    parts.append("IT: " + ", ".join(rnd.sample(occ_s.tools, k=min(2, len(occ_s.tools)))) + ".")
    parts.extend(rnd.sample(_CV_FILLER, k=2))
    text = " ".join(_typo(p, rnd) for p in parts)
    return text.lower() if rnd.random() < 0.1 else text


def _posting_text(occ: Occupation, title: str, employer: str, skills: list[str], requires: bool,
                  rnd: random.Random) -> str:
    tasks = rnd.sample(occ.tasks, k=min(3, len(occ.tasks)))
    parts = [
        f"{employer} søger en {title.lower()}.",
        "Som " + title.lower() + " skal du blandt andet " + ", ".join(tasks[:-1]) + " og " + tasks[-1] + ".",
        "Vi forventer, at du har erfaring med " + ", ".join(_skill_text(s, rnd) for s in skills[:-1])
        + " og " + _skill_text(skills[-1], rnd) + ".",
        f"Kendskab til {rnd.choice(occ.tools)} er en fordel.",
    ]
    if requires:
        parts.append(rnd.choice(["Du har en relevant kandidatuddannelse.", "Du er uddannet cand. inden for området.",
                                 "Relevant videregående uddannelse er et krav."]))
    else:
        parts.append(rnd.choice(["Ingen krav om uddannelse – vi oplærer dig.", "Erfaring er ikke et krav.",
                                 "Du behøver ingen særlige kvalifikationer."]))
    parts.extend(rnd.sample(_POSTING_FILLER, k=2))
    return " ".join(parts)


def _near_duplicate(text: str, title: str, employer: str, rnd: random.Random) -> tuple[str, str, str]:
    """The same job as another portal shows it: reordered sentences, extra boilerplate, retyped title."""
    sentences = text.split(". ")
    if len(sentences) > 4:
        i = rnd.randrange(2, len(sentences) - 1)
        sentences[i], sentences[i - 1] = sentences[i - 1], sentences[i]
    text2 = ". ".join(sentences) + rnd.choice([" Læs mere på vores hjemmeside.", " Søg via linket.", ""])
    title2 = rnd.choice([title, title.capitalize(), f"{title} til {employer.split()[0]}", title.upper()])
    employer2 = rnd.choice([employer, employer.replace(" A/S", ""), employer.upper(), employer + " "])
    return text2, title2, employer2


def simulate_jobs(
    rng: np.random.Generator,
    people: pd.DataFrame,
    history: pd.DataFrame,
    *,
    n_postings: int,
    start: date,
    end: date,
    duplicate_share: float = 0.2,
    hire_share: float = 0.8,
) -> JobsData:
    """Simulate CVs for both cohorts, `n_postings` jobs published in [start, end] and the history's hires.

    A posting is open 14-60 days (mean ~37), so about n_postings * 37 / (end - start).days are active at a time.
    """
    market = _Market(rng)
    rnd = market.rnd
    table = postcode_table()
    coords = table[table.index >= "1000"]  # codes below 1000 are parcel centres and "abroad", not places
    postcodes = coords.reset_index()
    cohorts = pd.concat([history.assign(_history=True), people.assign(_history=False)], ignore_index=True)
    n_people = len(cohorts)

    # People: latent profile, CV text, desired titles.
    fields = cohorts["education_field"].astype(str).str.lower().tolist()
    desired, skill_occ, skills = market.person_profiles(fields)
    registered = pd.to_datetime(cohorts["registered_on"]).dt.date
    birth = pd.to_datetime(cohorts["birth_date"]).dt.date
    age = np.array([(r - b).days / 365.25 for r, b in zip(registered, birth, strict=True)])
    experience = np.clip(np.round(age - 26.0 + rng.normal(0, 1.5, n_people), 1), 0, 40)
    skill_names = sorted(market.skill_index, key=market.skill_index.get)
    cv_texts, desired_titles = [], []
    for i in range(n_people):
        occ_d, occ_s = OCCUPATIONS[desired[i]], OCCUPATIONS[skill_occ[i]]
        cv_texts.append(_cv_text(occ_d, occ_s, fields[i], [skill_names[k] for k in skills[i]], experience[i], rnd))
        titles = rnd.sample(occ_d.titles, k=rnd.choice([1, 2, 2, 3]))
        if skill_occ[i] != desired[i] and rnd.random() < 0.15:
            titles.append(rnd.choice(occ_s.titles))
        desired_titles.append(";".join(titles))
    cvs = pd.DataFrame({
        "cpr": cohorts["cpr"].astype(str).to_numpy(),
        "cv_text": cv_texts,
        "desired_titles": desired_titles,
        "education_level": cohorts["education_level"].astype(str).to_numpy(),
        "education_field": cohorts["education_field"].astype(str).to_numpy(),
        "experience_years": experience,
        "postcode": cohorts["postcode"].astype(str).str.zfill(4).to_numpy(),
    })

    # Postings: occupation mix follows the academic labour market plus unskilled fill jobs.
    n_jobs = max(1, round(n_postings / (1 + duplicate_share)))
    occ_weight = np.array([0.6 if o.low_skilled else 1.0 for o in OCCUPATIONS])
    job_occ = rng.choice(len(OCCUPATIONS), size=n_jobs, p=occ_weight / occ_weight.sum())
    first = postcodes["postcode"].str[0]
    region_weight = {"1": 0.30, "2": 0.35, "3": 0.08, "4": 0.07}
    # Weights per region, spread over its postcodes (central Copenhagen has hundreds of street postcodes).
    pc_weight = np.array([region_weight.get(c, 0.2 / 5) for c in first]) / first.map(first.value_counts()).to_numpy()
    job_pc = rng.choice(len(postcodes), size=n_jobs, p=pc_weight / pc_weight.sum())
    span = max(1, (end - start).days)
    published = rng.integers(0, span + 1, size=n_jobs)
    open_days = rng.integers(14, 61, size=n_jobs)
    employers = _employers(rnd, 3000)
    # Popular employers post more and attract more applicants.
    employer_w = 1.0 / np.arange(1, len(employers) + 1) ** 0.7
    job_employer = rng.choice(len(employers), size=n_jobs, p=employer_w / employer_w.sum())
    appeal = rng.normal(0, 0.5, size=n_jobs) + 0.3 * (job_employer < 40)
    requires = np.array([rnd.random() < OCCUPATIONS[o].qualification_share for o in job_occ])
    # A posting asks for some of its occupation's skills and, half the time, one from a neighbouring occupation.
    extra_occ = _sample_rows(rng, market.neighbours[job_occ] + 1e-9)
    with_extra = rng.random(n_jobs) < 0.5
    pc_codes = postcodes["postcode"].to_numpy()[job_pc]
    job_skills: list[np.ndarray] = []
    rows = []
    for j in range(n_jobs):
        occ = OCCUPATIONS[job_occ[j]]
        own = rnd.sample(occ.skills, k=min(len(occ.skills), rnd.randint(3, 5)))
        if with_extra[j]:
            own.append(rnd.choice(OCCUPATIONS[extra_occ[j]].skills))
        job_skills.append(np.array(sorted({market.skill_index[s] for s in own})))
        title = rnd.choice(occ.titles)
        employer = employers[job_employer[j]]
        text = _posting_text(occ, title, employer, own, bool(requires[j]), rnd)
        pub = start + timedelta(days=int(published[j]))
        deadline = pub + timedelta(days=int(open_days[j]))
        pc = pc_codes[j]
        duplicated = rnd.random() < duplicate_share
        first_source = "jobnet" if (duplicated or rnd.random() < 0.6) else "jobindex"
        rows.append((j, first_source, title, text, employer, pc, occ.code, bool(requires[j]), pub, deadline))
        if duplicated:
            text2, title2, employer2 = _near_duplicate(text, title, employer, rnd)
            pub2 = min(pub + timedelta(days=rnd.randint(0, 3)), deadline)
            rows.append((j, "jobindex", title2, text2, employer2, pc, occ.code, bool(requires[j]), pub2, deadline))
    postings = pd.DataFrame(rows, columns=["job", "source", "title", "text", "employer", "postcode",
                                           "occupation_code", "requires_qualifications", "published_on", "deadline"])
    order = rng.permutation(len(postings))
    postings = postings.iloc[order].reset_index(drop=True)
    postings.insert(0, "posting_id", [f"P{k:07d}" for k in range(1, len(postings) + 1)])

    hires = _hires(rng, market, cohorts, cvs, coords, postings, job_occ, job_skills, job_pc, postcodes, appeal,
                   published, open_days, desired, skill_occ, skills, fields, start, end, hire_share)
    posting_job = pd.Series(postings["job"].to_numpy(), index=postings["posting_id"].to_numpy(), name="job")
    return JobsData(cvs=cvs, postings=postings.drop(columns="job"), hires=hires, posting_job=posting_job)


def _hires(rng: np.random.Generator, market: _Market, cohorts: pd.DataFrame, cvs: pd.DataFrame,
           coords: pd.DataFrame, postings: pd.DataFrame, job_occ: np.ndarray, job_skills: list[np.ndarray],
           job_pc: np.ndarray, postcodes: pd.DataFrame, appeal: np.ndarray, published: np.ndarray,
           open_days: np.ndarray, desired: np.ndarray, skill_occ: np.ndarray, skills: list[np.ndarray],
           fields: list[str], start: date, end: date, hire_share: float) -> pd.DataFrame:
    """Each hired citizen picks the best of the open jobs they see under the hidden utility."""
    n_skills = len(market.skill_index)
    # Skill ids per job padded with a slot that is always zero, so overlaps are one gather and a sum.
    width = max(len(s) for s in job_skills)
    skill_pad = np.full((len(job_skills), width), n_skills)
    for j, s in enumerate(job_skills):
        skill_pad[j, : len(s)] = s
    job_lat = postcodes["latitude"].to_numpy()[job_pc]
    job_lon = postcodes["longitude"].to_numpy()[job_pc]
    low = np.array([o.low_skilled for o in OCCUPATIONS])[job_occ]
    closes = published + open_days
    by_published = np.argsort(published, kind="stable")
    published_sorted = published[by_published]
    longest = int(open_days.max())
    # Which listing of a job the hire refers to: any of its portal copies.
    listing: dict[int, list[str]] = {}
    for job, posting_id in zip(postings["job"].to_numpy(), postings["posting_id"].to_numpy(), strict=True):
        listing.setdefault(int(job), []).append(posting_id)
    centre = (55.6759, 12.5655)
    home = coords.reindex(cvs["postcode"])
    home_lat = home["latitude"].fillna(centre[0]).to_numpy()
    home_lon = home["longitude"].fillna(centre[1]).to_numpy()
    field_idx = np.array([FIELDS.index(f) if f in FIELDS else 0 for f in fields])
    span = max(1, (end - start).days)
    cprs = cvs["cpr"].to_numpy()
    out = []
    history_rows = np.flatnonzero(cohorts["_history"].to_numpy())
    registered = pd.to_datetime(cohorts["registered_on"]).dt.date.to_numpy()
    for i in history_rows:
        if rng.random() > hire_share:
            continue
        decided = (registered[i] - start).days + int(rng.gamma(2.0, 30.0))
        if decided < 0 or decided > span:
            continue
        lo, hi = np.searchsorted(published_sorted, [decided - longest, decided], side="right")
        recent = by_published[lo:hi]
        open_now = recent[closes[recent] >= decided]
        if open_now.size == 0:
            continue
        seen = open_now if open_now.size <= 4000 else rng.choice(open_now, size=4000, replace=False)
        person_skills = np.zeros(n_skills + 1, dtype=np.float32)
        person_skills[skills[i]] = 1.0
        overlap = person_skills[skill_pad[seen]].sum(axis=1)
        occ = job_occ[seen]
        dist = haversine_km(home_lat[i], home_lon[i], job_lat[seen], job_lon[seen])
        utility = (
            0.9 * overlap
            + 1.0 * (occ == skill_occ[i])
            + 0.7 * (occ == desired[i])
            + 0.3 * market.field_occ[field_idx[i], occ]
            - 0.9 * np.log1p(dist / 10.0)
            + appeal[seen]
            - 2.5 * low[seen]
            + rng.gumbel(0.0, 0.8, size=seen.size)
        )
        job = int(seen[np.argmax(utility)])
        # Interviews take time; a copy on the second portal is at most 3 days younger than the original.
        hired_on = start + timedelta(days=decided + int(rng.integers(3, 24)))
        ids = listing[job]
        out.append((cprs[i], ids[int(rng.integers(len(ids)))], hired_on))
    return pd.DataFrame(out, columns=["cpr", "posting_id", "hired_on"])
