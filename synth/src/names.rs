//! Japanese names: family and given names in kanji and katakana, with the spelling variants that
//! break name-based link keys in real data (渡邊/渡辺, 髙橋/高橋, 山﨑/山崎 …).

/// A family name: its usual kanji, the katakana reading, and variant kanji spellings that a
/// facility may record instead.
#[derive(Debug)]
pub(crate) struct FamilyName {
    pub(crate) kanji: &'static str,
    pub(crate) kana: &'static str,
    pub(crate) variants: &'static [&'static str],
}

/// A given name: kanji and katakana reading.
#[derive(Debug)]
pub(crate) struct GivenName {
    pub(crate) kanji: &'static str,
    pub(crate) kana: &'static str,
}

const fn f(
    kanji: &'static str,
    kana: &'static str,
    variants: &'static [&'static str],
) -> FamilyName {
    FamilyName {
        kanji,
        kana,
        variants,
    }
}

const fn g(kanji: &'static str, kana: &'static str) -> GivenName {
    GivenName { kanji, kana }
}

/// Common family names, roughly by frequency (the first ones are drawn more often). Every
/// character is encodable in CP932, including the IBM extension 﨑 and 髙.
pub(crate) const FAMILY: &[FamilyName] = &[
    f("佐藤", "サトウ", &[]),
    f("鈴木", "スズキ", &[]),
    f("高橋", "タカハシ", &["髙橋"]),
    f("田中", "タナカ", &[]),
    f("伊藤", "イトウ", &[]),
    f("渡辺", "ワタナベ", &["渡邊", "渡邉"]),
    f("山本", "ヤマモト", &[]),
    f("中村", "ナカムラ", &[]),
    f("小林", "コバヤシ", &[]),
    f("加藤", "カトウ", &[]),
    f("吉田", "ヨシダ", &[]),
    f("山田", "ヤマダ", &[]),
    f("佐々木", "ササキ", &["佐佐木"]),
    f("山口", "ヤマグチ", &[]),
    f("松本", "マツモト", &[]),
    f("井上", "イノウエ", &[]),
    f("木村", "キムラ", &[]),
    f("林", "ハヤシ", &[]),
    f("斉藤", "サイトウ", &["斎藤", "齋藤", "齊藤"]),
    f("清水", "シミズ", &[]),
    f("山崎", "ヤマザキ", &["山﨑", "山嵜"]),
    f("森", "モリ", &[]),
    f("池田", "イケダ", &[]),
    f("橋本", "ハシモト", &[]),
    f("阿部", "アベ", &[]),
    f("石川", "イシカワ", &[]),
    f("山下", "ヤマシタ", &[]),
    f("中島", "ナカジマ", &["中嶋"]),
    f("石井", "イシイ", &[]),
    f("小川", "オガワ", &[]),
    f("前田", "マエダ", &[]),
    f("岡田", "オカダ", &[]),
    f("長谷川", "ハセガワ", &[]),
    f("藤田", "フジタ", &[]),
    f("後藤", "ゴトウ", &[]),
    f("近藤", "コンドウ", &[]),
    f("村上", "ムラカミ", &[]),
    f("遠藤", "エンドウ", &[]),
    f("青木", "アオキ", &[]),
    f("坂本", "サカモト", &["阪本"]),
    f("浜田", "ハマダ", &["濱田"]),
    f("沢田", "サワダ", &["澤田"]),
    f("広瀬", "ヒロセ", &["廣瀬"]),
    f("桜井", "サクライ", &["櫻井"]),
    f("菊地", "キクチ", &["菊池"]),
    f("富田", "トミタ", &["冨田"]),
    f("小島", "コジマ", &["小嶋"]),
    f("大沢", "オオサワ", &["大澤"]),
    f("服部", "ハットリ", &[]),
    f("今井", "イマイ", &[]),
    f("東海林", "ショウジ", &[]),
    f("長尾", "ナガオ", &[]),
    f("千葉", "チバ", &[]),
    f("大野", "オオノ", &[]),
    f("上野", "ウエノ", &[]),
    f("河野", "コウノ", &[]),
];

/// Given names of men.
pub(crate) const MALE: &[GivenName] = &[
    g("太郎", "タロウ"),
    g("一郎", "イチロウ"),
    g("健太", "ケンタ"),
    g("翔太", "ショウタ"),
    g("大輔", "ダイスケ"),
    g("拓也", "タクヤ"),
    g("誠", "マコト"),
    g("隆", "タカシ"),
    g("浩", "ヒロシ"),
    g("茂", "シゲル"),
    g("清", "キヨシ"),
    g("勇", "イサム"),
    g("修", "オサム"),
    g("健一", "ケンイチ"),
    g("直樹", "ナオキ"),
    g("和也", "カズヤ"),
    g("蓮", "レン"),
    g("悠真", "ユウマ"),
    g("陽翔", "ハルト"),
    g("湊", "ミナト"),
    g("亮", "リョウ"),
    g("恭平", "キョウヘイ"),
    g("翼", "ツバサ"),
    g("正雄", "マサオ"),
    g("勝", "マサル"),
    g("昭", "アキラ"),
    g("純一", "ジュンイチ"),
    g("雄一", "ユウイチ"),
];

/// Given names of women.
pub(crate) const FEMALE: &[GivenName] = &[
    g("花子", "ハナコ"),
    g("恵子", "ケイコ"),
    g("幸子", "サチコ"),
    g("洋子", "ヨウコ"),
    g("和子", "カズコ"),
    g("節子", "セツコ"),
    g("美穂", "ミホ"),
    g("裕子", "ユウコ"),
    g("陽子", "ヨウコ"),
    g("恵", "メグミ"),
    g("愛", "アイ"),
    g("美咲", "ミサキ"),
    g("彩", "アヤ"),
    g("結衣", "ユイ"),
    g("陽菜", "ヒナ"),
    g("さくら", "サクラ"),
    g("葵", "アオイ"),
    g("京子", "キョウコ"),
    g("千代", "チヨ"),
    g("久美子", "クミコ"),
    g("由美", "ユミ"),
    g("智子", "トモコ"),
    g("真由美", "マユミ"),
    g("芽衣", "メイ"),
    g("凛", "リン"),
    g("紗希", "サキ"),
    g("雪乃", "ユキノ"),
    g("翔子", "ショウコ"),
];

/// Full-width katakana → half-width katakana, as older facility systems record カナ氏名.
pub(crate) fn half_width_kana(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match half_kana(c) {
            Some(h) => out.push_str(h),
            None if c == '　' => out.push(' '),
            None => out.push(c),
        }
    }
    out
}

fn half_kana(c: char) -> Option<&'static str> {
    const FULL: &str = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォャュョッー";
    const HALF: [&str; 51] = [
        "ｱ", "ｲ", "ｳ", "ｴ", "ｵ", "ｶ", "ｷ", "ｸ", "ｹ", "ｺ", "ｻ", "ｼ", "ｽ", "ｾ", "ｿ", "ﾀ", "ﾁ", "ﾂ",
        "ﾃ", "ﾄ", "ﾅ", "ﾆ", "ﾇ", "ﾈ", "ﾉ", "ﾊ", "ﾋ", "ﾌ", "ﾍ", "ﾎ", "ﾏ", "ﾐ", "ﾑ", "ﾒ", "ﾓ", "ﾔ",
        "ﾕ", "ﾖ", "ﾗ", "ﾘ", "ﾙ", "ﾚ", "ﾛ", "ﾜ", "ｦ", "ﾝ", "ｧ", "ｨ", "ｩ", "ｪ", "ｫ",
    ];
    const REST: [(char, &str); 45] = [
        ('ャ', "ｬ"),
        ('ュ', "ｭ"),
        ('ョ', "ｮ"),
        ('ッ', "ｯ"),
        ('ー', "ｰ"),
        ('ガ', "ｶﾞ"),
        ('ギ', "ｷﾞ"),
        ('グ', "ｸﾞ"),
        ('ゲ', "ｹﾞ"),
        ('ゴ', "ｺﾞ"),
        ('ザ', "ｻﾞ"),
        ('ジ', "ｼﾞ"),
        ('ズ', "ｽﾞ"),
        ('ゼ', "ｾﾞ"),
        ('ゾ', "ｿﾞ"),
        ('ダ', "ﾀﾞ"),
        ('ヂ', "ﾁﾞ"),
        ('ヅ', "ﾂﾞ"),
        ('デ', "ﾃﾞ"),
        ('ド', "ﾄﾞ"),
        ('バ', "ﾊﾞ"),
        ('ビ', "ﾋﾞ"),
        ('ブ', "ﾌﾞ"),
        ('ベ', "ﾍﾞ"),
        ('ボ', "ﾎﾞ"),
        ('パ', "ﾊﾟ"),
        ('ピ', "ﾋﾟ"),
        ('プ', "ﾌﾟ"),
        ('ペ', "ﾍﾟ"),
        ('ポ', "ﾎﾟ"),
        ('ヴ', "ｳﾞ"),
        ('・', "･"),
        ('「', "｢"),
        ('」', "｣"),
        ('、', "､"),
        ('。', "｡"),
        ('゛', "ﾞ"),
        ('゜', "ﾟ"),
        ('ヮ', "ﾜ"),
        ('ヵ', "ｶ"),
        ('ヶ', "ｹ"),
        ('ヰ', "ｲ"),
        ('ヱ', "ｴ"),
        ('ヷ', "ﾜﾞ"),
        ('ヺ', "ｦﾞ"),
    ];
    if let Some(i) = FULL.chars().position(|f| f == c) {
        return if i < HALF.len() {
            Some(HALF[i])
        } else {
            REST.iter().find(|(f, _)| *f == c).map(|(_, h)| *h)
        };
    }
    REST.iter().find(|(f, _)| *f == c).map(|(_, h)| *h)
}

/// Writes small kana as large ones, as systems that cannot store small kana do (ジョウ → ジヨウ).
pub(crate) fn large_kana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ァ' => 'ア',
            'ィ' => 'イ',
            'ゥ' => 'ウ',
            'ェ' => 'エ',
            'ォ' => 'オ',
            'ャ' => 'ヤ',
            'ュ' => 'ユ',
            'ョ' => 'ヨ',
            'ッ' => 'ツ',
            other => other,
        })
        .collect()
}

/// Full-width digits and latin letters, as some facilities key 記号/番号 (19D0001 → １９Ｄ０００１).
pub(crate) fn full_width_ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width_kana_covers_voiced_and_small() {
        assert_eq!(half_width_kana("ワタナベ　ジョウ"), "ﾜﾀﾅﾍﾞ ｼﾞｮｳ");
        assert_eq!(half_width_kana("パーク"), "ﾊﾟｰｸ");
    }

    #[test]
    fn every_name_kana_converts_fully() {
        for k in FAMILY
            .iter()
            .map(|n| n.kana)
            .chain(MALE.iter().chain(FEMALE).map(|n| n.kana))
        {
            let h = half_width_kana(k);
            assert!(
                h.chars().all(|c| ('\u{FF61}'..='\u{FF9F}').contains(&c)),
                "{k} → {h}"
            );
        }
    }

    #[test]
    fn full_width_digits() {
        assert_eq!(full_width_ascii("19D0001"), "１９Ｄ０００１");
        assert_eq!(large_kana("ジョウ"), "ジヨウ");
    }
}
