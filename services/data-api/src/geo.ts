/**
 * States, cities and real ZIP codes of those cities, with a price level per state (USD per
 * square foot, rough 2024 medians) so generated prices differ by state the way real ones do.
 * Spelling follows the real listings file: states and cities spelled out, title case.
 */
export interface StateInfo {
    readonly name: string;
    readonly pricePerSqft: number;
    readonly cities: Readonly<Record<string, readonly string[]>>;
}

export const STATES: readonly StateInfo[] = [
    { name: "California", pricePerSqft: 450, cities: { "Los Angeles": ["90012", "90026", "90045"], "San Diego": ["92101", "92104", "92109"], Sacramento: ["95814", "95819", "95822"], "San Jose": ["95112", "95125"] } },
    { name: "New York", pricePerSqft: 380, cities: { "New York": ["10001", "10011", "10027"], Buffalo: ["14201", "14214"], Rochester: ["14604", "14610"], Albany: ["12203", "12208"] } },
    { name: "Massachusetts", pricePerSqft: 400, cities: { Boston: ["02108", "02116", "02130"], Worcester: ["01602", "01605"], Springfield: ["01103", "01108"] } },
    { name: "Washington", pricePerSqft: 330, cities: { Seattle: ["98101", "98103", "98115"], Spokane: ["99201", "99205"], Tacoma: ["98402", "98405"] } },
    { name: "Colorado", pricePerSqft: 280, cities: { Denver: ["80202", "80205", "80220"], Boulder: ["80302", "80304"], "Colorado Springs": ["80903", "80907"] } },
    { name: "Arizona", pricePerSqft: 250, cities: { Phoenix: ["85003", "85004", "85016"], Tucson: ["85701", "85705"], Mesa: ["85201", "85203"] } },
    { name: "Florida", pricePerSqft: 240, cities: { Miami: ["33125", "33130", "33137"], Orlando: ["32801", "32803"], Tampa: ["33602", "33606"], Jacksonville: ["32202", "32207"] } },
    { name: "North Carolina", pricePerSqft: 190, cities: { Charlotte: ["28202", "28203"], Raleigh: ["27601", "27605"], Durham: ["27701", "27705"] } },
    { name: "Illinois", pricePerSqft: 170, cities: { Chicago: ["60601", "60614", "60647"], Springfield: ["62701", "62704"], Peoria: ["61602", "61604"], Naperville: ["60540", "60563"] } },
    { name: "Georgia", pricePerSqft: 170, cities: { Atlanta: ["30303", "30308", "30318"], Savannah: ["31401", "31405"], Augusta: ["30901", "30904"] } },
    { name: "Texas", pricePerSqft: 160, cities: { Houston: ["77002", "77006", "77019"], Austin: ["78701", "78704", "78745"], Dallas: ["75201", "75206"], "San Antonio": ["78205", "78209"] } },
    { name: "Pennsylvania", pricePerSqft: 160, cities: { Philadelphia: ["19103", "19107", "19130"], Pittsburgh: ["15201", "15213"], Harrisburg: ["17101", "17104"] } },
    { name: "Michigan", pricePerSqft: 140, cities: { Detroit: ["48201", "48207"], "Grand Rapids": ["49503", "49506"], Lansing: ["48906", "48912"] } },
    { name: "Ohio", pricePerSqft: 120, cities: { Columbus: ["43201", "43215"], Cleveland: ["44102", "44113"], Cincinnati: ["45202", "45208"] } },
];

export const STREET_NAMES = ["Elm", "Oak", "Maple", "Pine", "Cedar", "Main", "Washington", "Lake", "Hill", "Park", "Walnut", "Sunset", "Ridge", "Church", "Mill"];
export const STREET_SUFFIXES = ["St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way"];
