//! Name and street lists for synthetic residents. Common Norwegian names; any likeness to a
//! real person is chance, and their numbers are synthetic.

pub(crate) const GIVEN_F: &[&str] = &[
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg", "Hilde",
    "Nora", "Emma", "Sofie", "Sara", "Ida", "Maja", "Ingeborg", "Olivia", "Frida", "Åse",
    "Solveig", "Tone", "Randi", "Amina", "Fatima", "Zofia", "Leah", "Mathilde", "Sigrid",
];
pub(crate) const GIVEN_M: &[&str] = &[
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Hans", "Jakob",
    "Emil", "Noah", "Oskar", "Lucas", "Filip", "William", "Aksel", "Håkon", "Magnus", "Tor",
    "Even", "Sindre", "Ali", "Mohammed", "Piotr", "Johannes", "Eirik", "Sverre", "Øystein",
];
pub(crate) const FAMILY: &[&str] = &[
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Solberg",
    "Strand",
    "Aas",
    "Moe",
    "Nygård",
    "Bakken",
    "Kristoffersen",
    "Ahmed",
    "Nowak",
    "Ali",
    "Nguyen",
];
pub(crate) const STREETS: &[&str] = &[
    "Storgata",
    "Kirkegata",
    "Skolevegen",
    "Fjordvegen",
    "Bjørkelia",
    "Granstubben",
    "Sjøgata",
    "Nedre Bakken",
    "Øvre Lia",
    "Strandvegen",
    "Parkvegen",
    "Torget",
    "Havnegata",
    "Fjellvegen",
    "Blåbærstien",
    "Rosenlund",
    "Løvåsvegen",
    "Kløverveien",
    "Tunvegen",
    "Elvegata",
];

/// Lower-case ASCII form for synthetic e-mail addresses.
pub(crate) fn ascii(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c.to_ascii_lowercase() {
            'æ' | 'Æ' => "ae".chars().collect::<Vec<_>>(),
            'ø' | 'Ø' => vec!['o'],
            'å' | 'Å' => "aa".chars().collect(),
            c if c.is_ascii_alphanumeric() => vec![c],
            _ => vec![],
        })
        .collect()
}
