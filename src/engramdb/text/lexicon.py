"""Closed word lists the offline rules lean on where grammar alone is ambiguous: "I'm a
nurse" is a job but "I'm a runner" is not, "I'm French" is a nationality but "I'm fine" is
not. Each list is a regex alternation, longest entries first so "guinea pig" beats "pig"."""

from __future__ import annotations


def _alt(words: str) -> str:
    items = sorted({w.strip() for w in words.split(",") if w.strip()}, key=len, reverse=True)
    return "(?:" + "|".join(w.replace(" ", r"\s+") for w in items) + ")"


OCCUPATIONS = _alt(
    "engineer, developer, programmer, designer, architect, nurse, doctor, physician, surgeon,"
    "dentist, pharmacist, teacher, professor, lecturer, tutor, lawyer, attorney, paralegal,"
    "accountant, consultant, analyst, scientist, researcher, manager, director, executive, ceo,"
    "cto, founder, co-founder, entrepreneur, journalist, writer, editor, author, photographer,"
    "artist, musician, chef, cook, baker, barista, bartender, waiter, waitress, cashier,"
    "electrician, plumber, carpenter, mechanic, technician, pilot, flight attendant, driver,"
    "firefighter, police officer, cop, soldier, veterinarian, vet, therapist, psychologist,"
    "psychiatrist, counselor, counsellor, social worker, librarian, data scientist,"
    "product manager, project manager, software engineer, web developer, intern, freelancer,"
    "translator, interpreter, paramedic, midwife, caregiver, nanny, farmer, salesperson,"
    "recruiter, marketer, economist, statistician, biologist, chemist, physicist, sysadmin,"
    "administrator, secretary, receptionist, clerk, banker, trader, realtor, real estate agent,"
    "actor, actress, dancer, illustrator, animator, copywriter, pharmacist, optometrist,"
    "radiologist, veterinary nurse, dental hygienist, professional, instructor, coach,"
    "graphic designer, ux designer, devops engineer, specialist, officer, assistant, supervisor"
)
# Professions named by their suffix ("pediatrician", "cardiologist", "psychiatrist").
OCCUPATIONS = rf"(?:{OCCUPATIONS}|[a-z]+(?:ician|ologist|iatrist))"
STUDENT = _alt(
    "student, grad student, graduate student, phd student, phd candidate, undergrad,"
    "undergraduate, freshman, sophomore, junior, senior, postdoc, medical student, law student"
)
NATIONALITIES = _alt(
    "american, british, english, scottish, welsh, irish, canadian, mexican, brazilian,"
    "argentinian, argentine, chilean, colombian, peruvian, venezuelan, cuban, french, german,"
    "italian, spanish, portuguese, dutch, belgian, swiss, austrian, swedish, norwegian, danish,"
    "finnish, icelandic, polish, czech, slovak, hungarian, romanian, bulgarian, greek, turkish,"
    "russian, ukrainian, belarusian, serbian, croatian, bosnian, slovenian, estonian,"
    "latvian, lithuanian, israeli, lebanese, syrian, iranian, iraqi, egyptian, moroccan,"
    "algerian, tunisian, nigerian, ghanaian, kenyan, ethiopian, south african, indian,"
    "pakistani, bangladeshi, sri lankan, nepali, chinese, japanese, korean, vietnamese, thai,"
    "filipino, filipina, indonesian, malaysian, singaporean, australian, new zealander, kiwi,"
    "taiwanese, saudi, emirati, jordanian, palestinian, armenian, georgian, kazakh"
)
LANGUAGES = _alt(
    "english, french, german, spanish, italian, portuguese, dutch, swedish, norwegian, danish,"
    "finnish, polish, czech, russian, ukrainian, greek, turkish, arabic, hebrew, persian, farsi,"
    "hindi, urdu, bengali, punjabi, tamil, telugu, mandarin, cantonese, chinese, japanese,"
    "korean, vietnamese, thai, indonesian, malay, tagalog, swahili, hungarian, romanian,"
    "serbian, croatian, bulgarian, catalan, basque, irish, welsh, latin, esperanto, icelandic,"
    "afrikaans, yoruba, amharic, sign language, asl, bsl, gujarati, marathi, nepali"
)
SPECIES = _alt(
    "dog, puppy, cat, kitten, hamster, rabbit, bunny, parrot, bird, budgie, cockatiel, fish,"
    "goldfish, betta, turtle, tortoise, snake, lizard, gecko, iguana, horse, pony, guinea pig,"
    "ferret, chinchilla, hedgehog, rat, mouse, gerbil, pig, goat, chicken, duck, axolotl,"
    "dogs, puppies, cats, kittens, hamsters, rabbits, bunnies, parrots, birds, fish, turtles,"
    "horses, guinea pigs, ferrets, rats, chickens, ducks, lab, labrador, golden retriever,"
    "retriever, poodle, beagle, corgi, husky, pug, terrier, bulldog, german shepherd, dachshund,"
    "tabby, siamese"
)
# Relation words as they follow "my"; the value is how the text names the relative.
RELATIONS = _alt(
    "wife, husband, spouse, partner, girlfriend, boyfriend, fiance, fiancee, fiancé, fiancée,"
    "son, daughter, kid, child, baby, mom, mum, mother, mommy, dad, father, daddy, parents,"
    "brother, sister, sibling, twin, grandma, grandmother, grandpa, grandfather, granddaughter,"
    "grandson, aunt, uncle, cousin, niece, nephew, friend, best friend, roommate, flatmate,"
    "housemate, boss, manager, coworker, co-worker, colleague, neighbor, neighbour,"
    "mother-in-law, father-in-law, sister-in-law, brother-in-law, stepmom, stepdad, stepson,"
    "stepdaughter, ex, ex-wife, ex-husband, teammate, classmate, mentor, therapist, doctor"
)
# The memory slot each relation fills when the user names them ("my sister Anna").
RELATION_SLOT = {
    "wife": "spouse",
    "husband": "spouse",
    "spouse": "spouse",
    "partner": "partner",
    "girlfriend": "partner",
    "boyfriend": "partner",
    "fiance": "partner",
    "fiancee": "partner",
    "fiancé": "partner",
    "fiancée": "partner",
    "son": "child",
    "daughter": "child",
    "kid": "child",
    "child": "child",
    "baby": "child",
    "mom": "mother",
    "mum": "mother",
    "mother": "mother",
    "mommy": "mother",
    "dad": "father",
    "father": "father",
    "daddy": "father",
    "brother": "sibling",
    "sister": "sibling",
    "sibling": "sibling",
    "twin": "sibling",
    "best friend": "best_friend",
    "boss": "boss",
    "manager": "boss",
}
SINGLE_RELATIONS = frozenset({"spouse", "partner", "mother", "father", "best_friend", "boss"})
DIETS = _alt(
    "vegetarian, vegan, pescatarian, pescetarian, keto, paleo, gluten-free, gluten free,"
    "dairy-free, dairy free, plant-based, plant based, kosher, halal, flexitarian, carnivore"
)
CONDITIONS = _alt(
    "diabetes, type 1 diabetes, type 2 diabetes, asthma, adhd, add, autism, anxiety,"
    "depression, migraines, arthritis, high blood pressure, hypertension, ibs, crohn's,"
    "celiac disease, celiac, coeliac, eczema, epilepsy, insomnia, sleep apnea, ptsd, ocd,"
    "bipolar disorder, a bad back, back pain, chronic pain, long covid, tinnitus, dyslexia,"
    "lupus, fibromyalgia, psoriasis, hay fever, a peanut allergy, a nut allergy, cancer"
)
STATUSES = _alt(
    "married, single, engaged, divorced, separated, widowed, in a relationship,"
    "seeing someone, dating someone, newly married, happily married"
)
EMPLOYMENT = _alt(
    "retired, unemployed, self-employed, self employed, between jobs, a stay-at-home mom,"
    "a stay-at-home dad, a stay-at-home parent, job hunting, out of work, on maternity leave,"
    "on paternity leave, on sabbatical, freelancing"
)
# Habit verbs whose present simple ("I run", "I knit on weekends") names a hobby.
HOBBY_VERBS = {
    "run": "running",
    "jog": "jogging",
    "swim": "swimming",
    "hike": "hiking",
    "climb": "climbing",
    "cycle": "cycling",
    "bike": "biking",
    "surf": "surfing",
    "ski": "skiing",
    "snowboard": "snowboarding",
    "skate": "skating",
    "dance": "dancing",
    "sing": "singing",
    "paint": "painting",
    "draw": "drawing",
    "knit": "knitting",
    "crochet": "crocheting",
    "sew": "sewing",
    "bake": "baking",
    "garden": "gardening",
    "fish": "fishing",
    "camp": "camping",
    "meditate": "meditating",
    "kayak": "kayaking",
    "sail": "sailing",
    "golf": "golfing",
    "box": "boxing",
    "skateboard": "skateboarding",
    "journal": "journaling",
    "blog": "blogging",
    "lift": "lifting weights",
    "rock climb": "rock climbing",
}
ACTIVITIES = _alt(
    "yoga, pilates, crossfit, karate, judo, taekwondo, jiu-jitsu, jiu jitsu, bjj, boxing,"
    "kickboxing, ballet, martial arts, photography, pottery, gardening, woodworking,"
    "calligraphy, origami, archery, fencing, rowing, parkour, zumba, tai chi, aikido, muay thai,"
    "triathlons, marathons, spinning, weightlifting, powerlifting, bouldering, karaoke"
)
GAMES = _alt(
    "guitar, bass, piano, drums, violin, cello, viola, flute, saxophone, sax, trumpet, ukulele,"
    "harp, clarinet, keyboard, banjo, mandolin, harmonica, tennis, soccer, football, basketball,"
    "baseball, volleyball, hockey, golf, rugby, cricket, badminton, squash, table tennis,"
    "ping pong, pickleball, chess, poker, bridge, video games, board games, dnd, d&d,"
    "dungeons and dragons, minecraft, fortnite, softball, lacrosse, water polo, handball,"
    "darts, pool, billiards, bowling, frisbee, ultimate frisbee, padel"
)
# Verbs that make "I'm going to X" a life plan rather than a step of the current chat
# ("I'm going to paste my code").
PLAN_VERBS = _alt(
    "visit, travel, go, move, relocate, start, begin, learn, study, take, run, attend, buy,"
    "adopt, get, marry, propose, retire, quit, apply, open, launch, build, fly, drive, hike,"
    "climb, celebrate, host, throw, finish, switch, change, join, enroll, sign up, spend,"
    "see, meet, sell, rent, renovate, train, compete, graduate, transfer, leave, return,"
    "volunteer, try out, pursue, become, have, do, complete, head, tour, stay, backpack"
)
# Past-tense life events worth remembering with their date.
EVENT_VERBS = _alt(
    "ran, finished, completed, visited, traveled, travelled, flew, bought, sold, won, passed,"
    "broke, climbed, hiked, launched, published, opened, celebrated, attended, adopted,"
    "started, retired, had surgery, had a baby, lost, failed, got my, got a, got an,"
    "went back to, went to, toured, backpacked, volunteered, renovated, built, founded,"
    "earned, received, proposed, moved into, signed, joined"
)
CAPITALIZED_NON_NAMES = frozenset(
    [
        "I",
        "Im",
        "Ok",
        "Okay",
        "Yes",
        "No",
        "Not",
        "Just",
        "Here",
        "There",
        "So",
        "Also",
        "Very",
        "Really",
        "Sure",
        "Fine",
        "Good",
        "Great",
        "Back",
        "Home",
        "Happy",
        "Sorry",
        "Glad",
        "Done",
        "Ready",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Christian",
        "Muslim",
        "Jewish",
        "Hindu",
        "Buddhist",
        "Catholic",
        "Atheist",
        "Vegan",
        "Vegetarian",
        "Single",
        "Married",
        "Tired",
        "Busy",
        "Free",
        "Available",
        "Interested",
        "Excited",
        "Here",
        "Hungry",
        "Bored",
        "The",
        "A",
        "An",
    ]
)
